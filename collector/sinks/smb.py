"""SMB share destination (-OutputSharePath with -OutputShareCredential), through smbprotocol.

Paths are UNC: `\\\\host\\share\\folder` (forward slashes work too). A server on a port other than
445 is written `\\\\host@PORT\\share\\folder` (the form Windows' WebDAV redirector uses for ports),
or set with the configuration key `smb.port`. Each file is written as `<name>.partial` and renamed
when whole, so a share never shows a partial file under its final name. An interrupted file
resumes from its `.partial` when a journal in the state directory says it is the same local file.

Configuration: smb.port, smb.chunk_size_mb (write size, default 4), upload.bandwidth_mbps (a cap
shared by all copies of one sink).

Every sink has its own smbclient connection cache: a wrong and a right credential never share a
logged-on session.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import smbclient
from smbprotocol.exceptions import BadNetworkName, LogonFailure, SMBAuthenticationError, SMBException, SMBOSError
from smbprotocol.tree import TreeConnect

from collector.errors import Category, CollectionStopped, DestinationError
from collector.settings import EngineEnv
from collector.sinks.pacing import BandwidthLimiter
from common.state import atomic_write_json

CHUNK = 4 * 1024 * 1024
PARTIAL = ".partial"

# NTSTATUS codes that mean "this share/folder does not exist" or "you may not".
_NOT_FOUND = {0xC00000CC, 0xC0000225, 0xC0000034, 0xC000003A, 0xC00000BE}
_DENIED = {0xC0000022, 0xC00000CA, 0xC0000203}


@dataclass(frozen=True)
class UncPath:
    host: str
    port: int
    share: str
    folder: str  # inside the share, backslash-separated, may be ""

    def path(self, *parts: str) -> str:
        segs = [self.folder] + [p.replace("/", "\\").strip("\\") for p in parts]
        rest = "\\".join(s for s in segs if s)
        return f"\\\\{self.host}\\{self.share}" + (f"\\{rest}" if rest else "")

    def display(self, *parts: str) -> str:
        p = self.path(*parts)
        return p if self.port == 445 else p.replace(f"\\\\{self.host}\\", f"\\\\{self.host}@{self.port}\\", 1)


def parse_unc(unc: str, default_port: int = 445) -> UncPath:
    """Parse `\\\\host[@port]\\share[\\folder...]`. Raises DestinationError (InvalidSharePath)."""
    text = (unc or "").strip().replace("/", "\\")
    m = re.fullmatch(r"\\\\([^\\@]+)(?:@(?:SSL@)?(\d{1,5}))?\\([^\\]+)((?:\\[^\\]*)*)", text)
    if not m or m.group(3) in (".", ".."):
        raise DestinationError(f"The share path '{unc}' is not a UNC path such as \\\\server\\share\\folder.",
                               "InvalidSharePath", Category.InvalidArgument)
    host, port, share, rest = m.groups()
    folder = "\\".join(p for p in rest.split("\\") if p)
    if any(p == ".." for p in folder.split("\\")):
        raise DestinationError(f"The share path '{unc}' must not contain '..'.", "InvalidSharePath", Category.InvalidArgument)
    port_num = int(port) if port else default_port
    if not 0 < port_num < 65536:
        raise DestinationError(f"The share path '{unc}' has an invalid port.", "InvalidSharePath", Category.InvalidArgument)
    return UncPath(host, port_num, share, folder)


def credential_parts(credential: Any) -> tuple[str, str]:
    """(user, password) from a psrpcore PSCredential or a (user, password) tuple."""
    if credential is None:
        raise DestinationError("A credential for the share is required (-OutputShareCredential).",
                               "ShareCredentialMissing", Category.InvalidArgument)
    if isinstance(credential, (tuple, list)) and len(credential) == 2:
        user, password = credential
    else:
        user = getattr(credential, "UserName", None)
        password = getattr(credential, "Password", None)
    if hasattr(password, "decrypt"):
        password = password.decrypt()
    if not isinstance(user, str) or not user or not isinstance(password, str):
        raise DestinationError("The share credential must have a user name and a password.",
                               "ShareCredentialMissing", Category.InvalidArgument)
    return user, password


class SmbSink:
    """An SMB share folder as a Sink. `env` (optional) gives the state dir and configuration."""

    def __init__(self, unc_path: str, credential: Any, env: EngineEnv | None = None, *, port: int | None = None):
        setting = getattr(env, "setting", lambda key, default=None: default)
        self._env = env
        self.unc = parse_unc(unc_path, int(port or setting("smb.port", 445)))
        self.user, self._password = credential_parts(credential)
        self.description = self.unc.display()
        self.chunk = int(setting("smb.chunk_size_mb", 0) * 1024 * 1024) or CHUNK
        mbps = setting("upload.bandwidth_mbps", None)
        self.limiter = BandwidthLimiter(float(mbps) * 1_000_000 / 8 if mbps else None)
        self._cache: dict[str, Any] = {}  # this sink's own connections (never smbclient's global cache)
        self._connected = False
        self._bundle = ""
        self.last_stats: dict[str, int] = {}
        self.stats: dict[str, dict[str, int]] = {}  # per relpath: deliveries run concurrently

    # -- helpers --------------------------------------------------------------------------
    def _connect(self) -> None:
        """Log on and connect the share once. Connecting the tree ourselves matters: for a share
        that does not exist smbclient falls back to a DFS referral over IPC$, which Samba never
        answers (the call hangs); here a missing share is a plain BadNetworkName."""
        if self._connected:
            return
        try:
            session = smbclient.register_session(self.unc.host, username=self.user, password=self._password,
                                                 port=self.unc.port, connection_timeout=15,
                                                 connection_cache=self._cache)
        except Exception as e:  # noqa: BLE001 - every failure becomes a DestinationError
            raise self._error(e, "log on to", self.unc.display()) from None
        share = rf"\\{self.unc.host}\{self.unc.share}"
        if not any(t.share_name == share for t in session.tree_connect_table.values()):
            try:
                TreeConnect(session, share).connect()
            except BadNetworkName:
                raise DestinationError(f"The share '{self.unc.share}' does not exist on server "
                                       f"'{self.unc.host}' ({self.unc.display()}).",
                                       "SharePathNotFound", Category.ObjectNotFound) from None
            except Exception as e:  # noqa: BLE001
                raise self._error(e, "connect to", self.unc.display()) from None
        self._connected = True

    def _kw(self) -> dict[str, Any]:
        return {"username": self.user, "password": self._password, "port": self.unc.port,
                "connection_cache": self._cache}

    def _scrub(self, text: str) -> str:
        return text.replace(self._password, "********") if self._password else text

    def _error(self, e: BaseException, action: str, where: str) -> DestinationError:
        if isinstance(e, DestinationError):
            return e
        if isinstance(e, (LogonFailure, SMBAuthenticationError)):
            return DestinationError(f"The logon to share '{self.unc.display()}' as '{self.user}' failed: "
                                    "unknown user name or bad password.", "ShareLogonFailure", Category.AuthenticationError)
        if isinstance(e, SMBOSError):
            status = getattr(e, "ntstatus", None)
            if status in _DENIED or e.errno == 13:
                return DestinationError(f"Access to '{where}' is denied for '{self.user}' ({action}).",
                                        "SharePathAccessDenied", Category.PermissionDenied)
            if status in _NOT_FOUND or e.errno == 2:
                return DestinationError(f"The share path '{where}' does not exist ({action}).",
                                        "SharePathNotFound", Category.ObjectNotFound)
            if status in (0xC000007F,):  # STATUS_DISK_FULL
                return DestinationError(f"The share '{self.unc.display()}' is full ({action}).",
                                        "DestinationFull", Category.WriteError)
            return DestinationError(f"Cannot {action} '{where}': {self._scrub(e.strerror or str(e))}",
                                    "ShareWriteFailed", Category.WriteError)
        if isinstance(e, ValueError) and "Failed to connect" in str(e) or isinstance(e, (ConnectionError, TimeoutError)):
            return DestinationError(f"Cannot reach the share server {self.unc.host}:{self.unc.port}.",
                                    "DestinationUnreachable", Category.ConnectionError)
        if isinstance(e, (SMBException, OSError)):
            return DestinationError(f"Cannot {action} '{where}': {self._scrub(str(e).splitlines()[0] if str(e) else type(e).__name__)}",
                                    "ShareWriteFailed", Category.WriteError)
        return DestinationError(f"Cannot {action} '{where}': {self._scrub(type(e).__name__)}",
                                "ShareWriteFailed", Category.WriteError)

    def _rel(self, relpath: str) -> str:
        rel = str(relpath).replace("/", "\\").strip("\\")
        if any(p == ".." for p in rel.split("\\")):
            raise DestinationError(f"Invalid file name '{relpath}'.", "InvalidSharePath", Category.InvalidArgument)
        return f"{self._bundle}\\{rel}" if self._bundle else rel

    def _journal(self, target: str) -> Path | None:
        if self._env is None:
            return None
        key = hashlib.sha256(f"smb\n{self.unc.host}:{self.unc.port}\n{target}".encode()).hexdigest()[:32]
        return self._env.state.sub("uploads") / f"{key}.json"

    # -- Sink protocol ----------------------------------------------------------------------
    def preflight(self) -> None:
        base = self.unc.path()
        self._connect()
        marker = self.unc.path(f".azs-pep-preflight-{uuid.uuid4().hex}.tmp")
        try:
            smbclient.makedirs(base, exist_ok=True, **self._kw())
            with smbclient.open_file(marker, mode="wb", **self._kw()) as f:
                f.write(b"azs-pep pre-flight marker\n")
            smbclient.remove(marker, **self._kw())
        except Exception as e:  # noqa: BLE001
            raise self._error(e, "write a pre-flight marker in", self.unc.display()) from None

    def open_bundle(self, bundle_name: str) -> str:
        self._bundle = bundle_name.strip("\\/")
        self._connect()
        try:
            smbclient.makedirs(self.unc.path(self._bundle), exist_ok=True, **self._kw())
        except Exception as e:  # noqa: BLE001
            raise self._error(e, "create the folder", self.unc.display(self._bundle)) from None
        return self.unc.display(self._bundle)

    def has(self, relpath: str, size: int) -> bool:
        self._connect()
        try:
            st = smbclient.stat(self.unc.path(self._rel(relpath)), **self._kw())
        except SMBOSError as e:
            if getattr(e, "ntstatus", None) in _NOT_FOUND or e.errno == 2:
                return False
            raise self._error(e, "look up", self.unc.display(self._rel(relpath))) from None
        except Exception as e:  # noqa: BLE001
            raise self._error(e, "look up", self.unc.display(self._rel(relpath))) from None
        return bool(st.st_size == size)

    def deliver(self, local_path: Path, relpath: str, progress: Callable[[int], None] | None = None,
                stop: threading.Event | None = None) -> None:
        rel = self._rel(relpath)
        target, shown = self.unc.path(rel), self.unc.display(rel)
        partial = target + PARTIAL
        try:
            st = os.stat(local_path)
        except OSError as e:
            raise DestinationError(f"Cannot read staged file '{local_path}': {e.strerror}",
                                   "StagedFileUnreadable", Category.ReadError) from None
        fid = f"{st.st_size}:{st.st_mtime_ns}"
        self._connect()
        journal = self._journal(target)
        try:
            parent = target.rsplit("\\", 1)[0]
            smbclient.makedirs(parent, exist_ok=True, **self._kw())
            offset = self._resume_offset(partial, journal, fid, st.st_size)
            if journal is not None and offset == 0:
                atomic_write_json(journal, {"target": shown, "fid": fid})
            stats = {"bytes_skipped": offset, "bytes_sent": 0, "bytes": st.st_size}
            self.last_stats = self.stats[relpath] = stats
            if progress and offset:
                progress(offset)
            with open(local_path, "rb") as src, \
                    smbclient.open_file(partial, mode="r+b" if offset else "wb", **self._kw()) as dst:
                src.seek(offset)
                dst.seek(offset)
                while True:
                    if stop is not None and stop.is_set():
                        raise CollectionStopped("The copy to the share was stopped.")
                    data = src.read(self.chunk)
                    if not data:
                        break
                    self.limiter.acquire(len(data), stop)
                    if stop is not None and stop.is_set():
                        raise CollectionStopped("The copy to the share was stopped.")
                    dst.write(data)
                    stats["bytes_sent"] += len(data)
                    if progress:
                        progress(len(data))
                dst.truncate(st.st_size)
            self._replace(partial, target)
        except (DestinationError, CollectionStopped):
            raise
        except Exception as e:  # noqa: BLE001
            if isinstance(e, OSError) and not isinstance(e, SMBOSError) and getattr(e, "filename", None) == str(local_path):
                raise DestinationError(f"Cannot read staged file '{local_path}': {e.strerror}",
                                       "StagedFileUnreadable", Category.ReadError) from None
            raise self._error(e, "copy to", shown) from None
        if journal is not None:
            try:
                journal.unlink()
            except FileNotFoundError:
                pass

    def _replace(self, partial: str, target: str) -> None:
        """Rename the finished `.partial` over its final name. Samba refuses a rename over an existing
        file (STATUS_ACCESS_DENIED, where Windows replaces it): then the old file (e.g. the in-progress
        manifest the final one replaces) is removed first and the rename is done again."""
        try:
            smbclient.replace(partial, target, **self._kw())
        except SMBOSError as e:
            if getattr(e, "ntstatus", None) not in _DENIED:
                raise
            try:
                smbclient.stat(target, **self._kw())
            except SMBOSError:
                raise e from None  # no file in the way: a real refusal
            smbclient.remove(target, **self._kw())
            smbclient.replace(partial, target, **self._kw())

    def _resume_offset(self, partial: str, journal: Path | None, fid: str, size: int) -> int:
        """Where to continue an interrupted copy: the `.partial`'s size, less one chunk in case its
        tail was torn, when the journal says it came from this very file; else 0."""
        if journal is None:
            return 0
        try:
            if json.loads(journal.read_text()).get("fid") != fid:
                return 0
        except (OSError, ValueError):
            return 0
        try:
            have: int = smbclient.stat(partial, **self._kw()).st_size
        except SMBOSError:
            return 0
        if have > size:
            return 0
        return max(0, (have // self.chunk - 1) * self.chunk)

    def sha256(self, relpath: str) -> str:
        """SHA-256 of a delivered file, read back from the share (Close-PrivilegedEndpoint checks its copies)."""
        rel = self._rel(relpath)
        self._connect()
        digest = hashlib.sha256()
        try:
            with smbclient.open_file(self.unc.path(rel), mode="rb", **self._kw()) as f:
                while data := f.read(self.chunk):
                    digest.update(data)
        except Exception as e:  # noqa: BLE001
            raise self._error(e, "read back", self.unc.display(rel)) from None
        return digest.hexdigest()

    def close(self) -> None:
        try:
            smbclient.reset_connection_cache(fail_on_error=False, connection_cache=self._cache)
            self._connected = False
        except Exception:  # noqa: BLE001 - closing a dead connection must not fail a run
            pass
