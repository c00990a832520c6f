"""Blob-container destination (-OutputSasUri) and source (-InputSasUri), through a container SAS.

Files go up as block blobs: blocks are staged (invisible) and the blob appears only when the
block list is committed, so an interrupted run never leaves a blob that looks complete. A resume
journal in the state directory (uploads/) records each file's block plan before the first block
is sent; after a crash the same file asks the server which blocks are already staged and sends
only the rest.

Configuration keys (Environment.setting):
  upload.bandwidth_mbps   cap for all uploads of one sink, megabits per second (0/absent: none);
                          the share destination honours it too
  upload.block_size_mb    block size in MiB (default 8; fractions allowed, for tests)
  upload.concurrency      blocks in flight (default 4)
"""
from __future__ import annotations

import hashlib
import mimetypes
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any

from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError, ServiceRequestError, ServiceResponseError
from azure.storage.blob import BlobBlock, BlobClient, ContainerClient, ContentSettings, ExponentialRetry

from collector.errors import Category, CollectionStopped, DestinationError
from collector.sas import SasUri, SasUriError, parse_sas_url
from collector.settings import EngineEnv
from collector.sinks.pacing import BandwidthLimiter
from common.redact import redact as redact_text
from common.state import atomic_write_json

# Newest version Azurite 3.35 accepts; real Azure accepts it too. The SDK default is newer.
API_VERSION = "2025-11-05"
DEFAULT_BLOCK_SIZE = 8 * 1024 * 1024
DEFAULT_CONCURRENCY = 4
PREFLIGHT_PREFIX = ".azs-pep-preflight/"


def _client(sas: SasUri, url: str, quick: bool) -> ContainerClient:
    # The SDK's default retry waits 15 s+ between attempts; a pre-flight must answer quickly.
    # The SDK annotates initial_backoff as int, but it is seconds and takes a float.
    retry = (ExponentialRetry(initial_backoff=0.5, increment_base=2, retry_total=1, random_jitter_range=0)  # type: ignore[arg-type]
             if quick else ExponentialRetry(initial_backoff=2, increment_base=2, retry_total=5, random_jitter_range=1))
    return ContainerClient.from_container_url(
        url, api_version=API_VERSION, retry_policy=retry,
        connection_timeout=10 if quick else 30, read_timeout=30 if quick else 120,
    )


def _translate(e: Exception, sas: SasUri, action: str) -> DestinationError:
    """An SDK exception as a DestinationError whose message carries no secret."""
    where = sas.container_url
    if isinstance(e, DestinationError):
        return e
    if isinstance(e, (ServiceRequestError, ServiceResponseError)):
        return DestinationError(f"Cannot reach the blob endpoint {sas.endpoint} to {action}: "
                                f"{redact_text(_first_line(e))}", "DestinationUnreachable", Category.ConnectionError)
    if isinstance(e, HttpResponseError):
        code = getattr(e, "error_code", None) or ""
        code = str(getattr(code, "value", code))  # the SDK gives a StorageErrorCode enum
        status = getattr(e, "status_code", None)
        if status == 403 and code == "AuthorizationPermissionMismatch":
            return DestinationError(f"The SAS URI for '{where}' does not permit this operation ({action}). "
                                    "Read, Write and List permissions are required.",
                                    "SasUriPermissionDenied", Category.PermissionDenied)
        if status == 403:
            # Azurite answers AuthorizationFailure for expired or altered signatures; Azure answers
            # AuthenticationFailed. Either way the server refused the signature.
            return DestinationError(f"The storage service refused the SAS URI for '{where}' ({code or status}): "
                                    "the signature is invalid, expired or revoked.",
                                    "SasUriAuthenticationFailed", Category.AuthenticationError)
        if status == 404 and code == "ContainerNotFound":
            return DestinationError(f"The container '{where}' does not exist.", "ContainerNotFound", Category.ObjectNotFound)
        if code in ("InsufficientAccountPermissions", "AccountIsDisabled"):
            return DestinationError(f"The storage account of '{where}' refused the request ({code}).",
                                    "SasUriPermissionDenied", Category.PermissionDenied)
        return DestinationError(f"The storage service failed to {action} at '{where}': {status} {code}".rstrip(),
                                "DestinationWriteFailed", Category.WriteError)
    if isinstance(e, AzureError):
        return DestinationError(f"Cannot {action} at '{where}': {redact_text(_first_line(e))}",
                                "DestinationWriteFailed", Category.WriteError)
    return DestinationError(f"Cannot {action} at '{where}': {redact_text(_first_line(e))}",
                            "DestinationWriteFailed", Category.WriteError)


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


class BlobSink:
    """A container SAS as a Sink. `env` is a session.environment.Environment (state dir, config)."""

    def __init__(self, sas_url: str, env: EngineEnv, *, block_size: int | None = None,
                 concurrency: int | None = None, bandwidth_mbps: float | None = None):
        self._url = sas_url
        self._env = env
        try:
            self._sas: SasUri | None = parse_sas_url(sas_url)
            self.description = self._sas.container_url
        except SasUriError as e:
            self._sas, self._parse_error = None, e
            self.description = "<invalid SAS URI>"
        setting = getattr(env, "setting", lambda key, default=None: default)
        mb = setting("upload.block_size_mb", None)
        self.block_size = int(block_size or (float(mb) * 1024 * 1024 if mb else DEFAULT_BLOCK_SIZE))
        self.concurrency = max(1, int(concurrency or setting("upload.concurrency", DEFAULT_CONCURRENCY)))
        mbps = bandwidth_mbps if bandwidth_mbps is not None else setting("upload.bandwidth_mbps", None)
        self.limiter = BandwidthLimiter(float(mbps) * 1_000_000 / 8 if mbps else None)
        self._prefix = ""
        self._container: ContainerClient | None = None
        # What the last deliver() did, and what each deliver() did by relpath (deliveries run
        # concurrently, so the engine reads its own file's entry); tests and verbose output read them.
        self.last_stats: dict[str, int] = {}
        self.stats: dict[str, dict[str, int]] = {}

    # -- helpers --------------------------------------------------------------------------
    @property
    def sas(self) -> SasUri:
        if self._sas is None:
            raise self._parse_error
        return self._sas

    @property
    def container(self) -> ContainerClient:
        if self._container is None:
            self._container = _client(self.sas, self._url, quick=False)
        return self._container

    def _blob_name(self, relpath: str) -> str:
        rel = str(relpath).replace("\\", "/").strip("/")
        return f"{self._prefix}/{rel}" if self._prefix else rel

    def _journal_dir(self) -> Path:
        return self._env.state.sub("uploads")

    def _journal_path(self, blob: str) -> Path:
        key = hashlib.sha256(f"{self.sas.container_url}\n{blob}".encode()).hexdigest()[:32]
        return self._journal_dir() / f"{key}.json"

    # -- Sink protocol ----------------------------------------------------------------------
    def preflight(self) -> None:
        sas = self.sas
        sas.check("rwl")
        client = _client(sas, self._url, quick=True)
        marker = client.get_blob_client(f"{PREFLIGHT_PREFIX}{uuid.uuid4().hex}")
        block = "preflight-000000"
        try:
            # A staged block proves write access without leaving a visible blob (an rwl SAS
            # cannot delete); the service discards uncommitted blocks on its own.
            marker.stage_block(block, b"azs-pep pre-flight marker\n")
            _, uncommitted = marker.get_block_list("uncommitted")
            if not any(b.id == block for b in uncommitted):
                raise DestinationError(f"The marker written to '{sas.container_url}' could not be read back.",
                                       "DestinationWriteFailed", Category.WriteError)
            next(iter(client.list_blobs(results_per_page=1).by_page()), None)
        except Exception as e:  # noqa: BLE001 - every failure becomes a DestinationError
            raise _translate(e, sas, "write a pre-flight marker") from None

    def open_bundle(self, bundle_name: str) -> str:
        self._prefix = bundle_name.strip("/")
        return f"{self.sas.container_url}/{self._prefix}"

    def has(self, relpath: str, size: int) -> bool:
        try:
            props = self.container.get_blob_client(self._blob_name(relpath)).get_blob_properties()
        except ResourceNotFoundError:
            return False
        except Exception as e:  # noqa: BLE001
            raise _translate(e, self.sas, "read blob properties") from None
        return props.size == size

    def deliver(self, local_path: Path, relpath: str, progress: Callable[[int], None] | None = None,
                stop: threading.Event | None = None) -> None:
        sas = self.sas
        name = self._blob_name(relpath)
        try:
            st = os.stat(local_path)
        except OSError as e:
            raise DestinationError(f"Cannot read staged file '{local_path}': {e.strerror}",
                                   "StagedFileUnreadable", Category.ReadError) from None
        plan = self._load_or_make_plan(name, st)
        bs, size = plan["block_size"], st.st_size
        nblocks = (size + bs - 1) // bs
        ids = [f"{plan['fid']}-{i:08d}" for i in range(nblocks)]
        blob = self.container.get_blob_client(name)
        done: set[int] = set()
        try:
            if plan.get("resumed"):
                done = self._staged_blocks(blob, ids, size, bs)
            skipped = sum(min(bs, size - i * bs) for i in done)
            stats = {"blocks": nblocks, "blocks_skipped": len(done), "blocks_sent": 0, "bytes_sent": 0,
                     "bytes_skipped": skipped, "bytes": size}
            self.last_stats = self.stats[relpath] = stats
            if progress and done:
                progress(skipped)
            self._stage_all(blob, local_path, ids, [i for i in range(nblocks) if i not in done], size, bs, progress,
                            stop, stats)
            ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
            blob.commit_block_list([BlobBlock(block_id) for block_id in ids],
                                   content_settings=ContentSettings(content_type=ctype))
        except (DestinationError, CollectionStopped):
            raise
        except OSError as e:
            raise DestinationError(f"Cannot read staged file '{local_path}': {e.strerror or e}",
                                   "StagedFileUnreadable", Category.ReadError) from None
        except Exception as e:  # noqa: BLE001
            raise _translate(e, sas, f"upload '{name}'") from None
        try:
            self._journal_path(name).unlink()
        except FileNotFoundError:
            pass

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None

    # -- upload internals ------------------------------------------------------------------
    def _load_or_make_plan(self, name: str, st: os.stat_result) -> dict[str, Any]:
        """The journal entry for this blob: reused when it describes the same local file."""
        fid = hashlib.sha256(f"{name}\n{st.st_size}\n{st.st_mtime_ns}".encode()).hexdigest()[:12]
        path = self._journal_path(name)
        try:
            import json

            old: dict[str, Any] = json.loads(path.read_text())
            if old.get("fid") == fid and old.get("size") == st.st_size and int(old.get("block_size", 0)) > 0:
                old["resumed"] = True
                return old
        except (OSError, ValueError):
            pass
        plan: dict[str, Any] = {"container": self.sas.container_url, "blob": name, "fid": fid, "size": st.st_size,
                "block_size": self.block_size, "started": datetime.now(timezone.utc).isoformat()}
        # Written before the first block leaves, so any staged block has a journal to resume from.
        atomic_write_json(path, plan)
        return plan

    @staticmethod
    def _staged_blocks(blob: BlobClient, ids: list[str], size: int, bs: int) -> set[int]:
        try:
            _, uncommitted = blob.get_block_list("uncommitted")
        except ResourceNotFoundError:
            return set()
        staged = {b.id: b.size for b in uncommitted}
        done: set[int] = set()
        for i, bid in enumerate(ids):
            if staged.get(bid) == min(bs, size - i * bs):
                done.add(i)
        return done

    def _stage_all(self, blob: BlobClient, local_path: Path, ids: list[str], todo: Iterable[int], size: int, bs: int,
                   progress: Callable[[int], None] | None, stop: threading.Event | None,
                   stats: dict[str, int]) -> None:
        fd = os.open(local_path, os.O_RDONLY)
        stopped = threading.Event() if stop is None else stop

        def send(i: int) -> int:
            length = min(bs, size - i * bs)
            self.limiter.acquire(length, stopped)
            if stopped.is_set():
                return 0
            data = os.pread(fd, length, i * bs)
            if len(data) != length:
                raise DestinationError(f"Staged file '{local_path}' changed during upload.",
                                       "StagedFileChanged", Category.InvalidData)
            blob.stage_block(ids[i], data, length=length)
            return length

        try:
            with ThreadPoolExecutor(self.concurrency, thread_name_prefix="blob-upload") as pool:
                pending = iter(todo)
                inflight: set[Future[int]] = set()
                error: BaseException | None = None
                while True:
                    while error is None and not stopped.is_set() and len(inflight) < self.concurrency:
                        i = next(pending, None)
                        if i is None:
                            break
                        inflight.add(pool.submit(send, i))
                    if not inflight:
                        break
                    finished, inflight = wait(inflight, return_when=FIRST_COMPLETED)
                    for f in finished:
                        try:
                            n = f.result()
                        except BaseException as e:  # noqa: BLE001 - re-raised after in-flight blocks finish
                            error = error or e
                            continue
                        if n:
                            stats["blocks_sent"] += 1
                            stats["bytes_sent"] += n
                            if progress:
                                progress(n)
                if error is not None:
                    raise error
                if stopped.is_set():
                    raise CollectionStopped("The upload was stopped.")
        finally:
            os.close(fd)


# --- -InputSasUri ----------------------------------------------------------------------------

_NAME_TIMES = [  # year, month, day, hour, minute, second
    re.compile(r"(\d{4})-(\d{2})-(\d{2})[T _-](\d{2})[:\-]?(\d{2})[:\-]?(\d{2})"),
    re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})[T_-]?(\d{2})(\d{2})(\d{2})(?!\d)"),
]


def time_in_name(name: str) -> datetime | None:
    """A UTC time written into a blob name (2026-11-25T08:30:00, 20261125083000, ...), if any."""
    for rx in _NAME_TIMES:
        for m in rx.finditer(name):
            y, mo, d, h, mi, s = (int(g) for g in m.groups())
            try:
                return datetime(y, mo, d, h, mi, s, tzinfo=timezone.utc)
            except ValueError:
                continue
    return None


def _safe_local_path(dest_dir: Path, blob_name: str) -> Path | None:
    """Where a blob lands under dest_dir; None for a name that would leave it (`..`, or a symlink
    already inside dest_dir that points elsewhere) or that no file system takes (a name > 255 bytes)."""
    parts = [p for p in PurePosixPath(blob_name.replace("\\", "/")).parts if p not in ("", ".", "/")]
    if not parts or any(p == ".." or "\0" in p or len(p.encode("utf-8", "surrogateescape")) > 255 for p in parts):
        return None
    target = dest_dir.joinpath(*parts)
    real_dest, real = os.path.realpath(dest_dir), os.path.realpath(target)
    if not real.startswith(real_dest.rstrip(os.sep) + os.sep):
        return None
    return target


def download_window(sas_url: str, from_utc: datetime, to_utc: datetime, dest_dir: str | Path,
                    progress: Callable[[int], None] | None = None,
                    stop: threading.Event | None = None) -> list[Path]:
    """Download the container's blobs whose time lies in [from_utc, to_utc] into dest_dir
    (the time in the blob name when there is one, else its last-modified time). Streams each blob
    to `<name>.partial` then renames it; a file already present with the blob's size is kept.
    Returns the local paths. Raises DestinationError; CollectionStopped when `stop` is set."""
    sas = parse_sas_url(sas_url)
    sas.check("rl")
    dest = Path(dest_dir)
    client = _client(sas, sas_url, quick=False)
    got: list[Path] = []
    try:
        for item in client.list_blobs():
            if stop is not None and stop.is_set():
                raise CollectionStopped("The download was stopped.")
            if item.name.startswith(PREFLIGHT_PREFIX):
                continue
            t = time_in_name(item.name) or item.last_modified
            if t is None or not (from_utc <= t <= to_utc):
                continue
            target = _safe_local_path(dest, item.name)
            if target is None:
                continue
            if target.is_file() and target.stat().st_size == item.size:
                got.append(target)
                if progress:
                    progress(item.size)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".partial")
            with open(partial, "wb") as f:
                for chunk in client.get_blob_client(item.name).download_blob(max_concurrency=2).chunks():
                    if stop is not None and stop.is_set():
                        raise CollectionStopped("The download was stopped.")
                    f.write(chunk)
                    if progress:
                        progress(len(chunk))
            os.replace(partial, target)
            got.append(target)
    except (DestinationError, CollectionStopped):
        raise
    except OSError as e:
        raise DestinationError(f"Cannot write to '{dest}': {e.strerror or e}", "OutputPathWriteFailed",
                               Category.WriteError) from None
    except Exception as e:  # noqa: BLE001
        raise _translate(e, sas, "download blobs") from None
    finally:
        client.close()
    return got
