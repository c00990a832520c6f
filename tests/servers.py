"""Start real Azurite and Samba servers on loopback for tests and benchmarks.

Plain context managers (no pytest here) so bench/ can use them too; tests/conftest.py wraps them
in session-scoped fixtures. Process handling follows shared/reference/components.md: smbd must
run in its own session (it signals its whole process group on SIGTERM), Azurite needs
--skipApiVersionCheck because the SDK speaks a newer API version than Azurite knows.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

INSTALL_HINT = "run scripts/install-test-deps (as root) to install Samba and Azurite"

AZURITE_ACCOUNT = "devstoreaccount1"
# Azurite's well-known development key (public, documented by Microsoft).
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

SMB_USER = "pepsmbtest"
SMB_PASSWORD = "S3cret-pw!smb"
SMB_SHARE = "share"


class ServerUnavailable(Exception):
    """The server binary is not installed (tests skip with INSTALL_HINT)."""


def _die_with_parent() -> None:
    """preexec_fn: the server gets SIGTERM when the test process dies, even when pytest is killed
    before its fixture teardown runs (a timeout), so no server outlives its test run."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen, what: str, out: Path, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}: {_tail(out)}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on port {port} within {timeout}s: {_tail(out)}")


def _tail(path: Path) -> str:
    try:
        return path.read_text(errors="replace")[-2000:]
    except OSError:
        return ""


def unique_name(prefix: str = "c") -> str:
    """A container name Azurite accepts (3-63 lowercase chars)."""
    return f"{prefix}{uuid.uuid4().hex[:20]}"


@dataclass
class Azurite:
    endpoint: str  # http://127.0.0.1:PORT/devstoreaccount1
    port: int
    account: str = AZURITE_ACCOUNT
    key: str = AZURITE_KEY
    location: Path | None = None

    def service(self):
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient(self.endpoint, credential={"account_name": self.account, "account_key": self.key})

    def make_container_sas(
        self,
        name: str | None = None,
        permissions: str = "racwdl",
        expiry: datetime | timedelta | None = None,
        start: datetime | None = None,
        create: bool = True,
    ) -> str:
        """Create container `name` (if missing) and return its container SAS URL.

        `permissions` is the `sp` letters (e.g. "rl" for read-only); `expiry` an absolute time or an
        offset from now (negative for an already expired SAS); default one hour from now."""
        from azure.core.exceptions import ResourceExistsError
        from azure.storage.blob import ContainerSasPermissions, generate_container_sas

        name = name or unique_name()
        if create:
            try:
                self.service().create_container(name)
            except ResourceExistsError:
                pass
        now = datetime.now(timezone.utc)
        if expiry is None:
            expiry = timedelta(hours=1)
        if isinstance(expiry, timedelta):
            expiry = now + expiry
        if start is None:
            start = min(now, expiry) - timedelta(minutes=5)
        token = generate_container_sas(
            self.account,
            name,
            account_key=self.key,
            permission=ContainerSasPermissions.from_string(permissions),
            start=start,
            expiry=expiry,
        )
        return f"{self.endpoint}/{name}?{token}"

    def container(self, name: str):
        return self.service().get_container_client(name)


@contextlib.contextmanager
def start_azurite() -> Iterator[Azurite]:
    exe = shutil.which("azurite-blob")
    if not exe:
        raise ServerUnavailable(f"azurite-blob not found; {INSTALL_HINT}")
    location = Path(tempfile.mkdtemp(prefix="azs-azurite-"))
    port = free_port()
    out = location / "azurite.out"
    with open(out, "wb") as log:
        proc = subprocess.Popen(
            [exe, "--blobHost", "127.0.0.1", "--blobPort", str(port), "--location", str(location / "data"),
             "--silent", "--skipApiVersionCheck", "--loose", "--disableTelemetry"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=location,
            start_new_session=True, preexec_fn=_die_with_parent,
        )
    try:
        _wait_port(port, proc, "azurite-blob", out)
        yield Azurite(endpoint=f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}", port=port, location=location)
    finally:
        _stop(proc)
        shutil.rmtree(location, ignore_errors=True)


@dataclass
class Samba:
    host: str
    port: int
    share: str
    user: str
    password: str
    path: Path  # local directory behind the share
    root: Path = field(repr=False, default=Path("."))

    def unc(self, *parts: str) -> str:
        """`\\\\127.0.0.1@PORT\\share\\a\\b`: the form SmbSink accepts for a non-445 port."""
        tail = "\\".join(p.strip("\\/") for p in parts if p)
        base = f"\\\\{self.host}@{self.port}\\{self.share}"
        return f"{base}\\{tail}" if tail else base


_SMB_CONF = """[global]
    server role = standalone server
    workgroup = WORKGROUP
    netbios name = AZSPEPTEST
    interfaces = 127.0.0.1
    bind interfaces only = yes
    smb ports = {port}
    disable netbios = yes
    server min protocol = SMB2_10
    security = user
    map to guest = never
    passdb backend = tdbsam:{root}/private/passdb.tdb
    private dir = {root}/private
    lock directory = {root}/lock
    state directory = {root}/state
    cache directory = {root}/cache
    pid directory = {root}/pid
    ncalrpc dir = {root}/ncalrpc
    log file = {root}/log/log.%m
    log level = 1
    max log size = 1000
    load printers = no
    printing = bsd
    printcap name = /dev/null
    disable spoolss = yes
    smb encrypt = desired
    usershare path =

[{share}]
    path = {root}/share
    read only = no
    browseable = yes
    valid users = {user}
    create mask = 0644
    directory mask = 0755
"""


def _find(name: str) -> str | None:
    return shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.access(p, os.X_OK)), None
    )


@contextlib.contextmanager
def start_samba() -> Iterator[Samba]:
    smbd, smbpasswd = _find("smbd"), _find("smbpasswd")
    if not smbd or not smbpasswd:
        raise ServerUnavailable(f"smbd not found; {INSTALL_HINT}")
    if os.geteuid() != 0:
        # smbd as non-root authenticates but refuses every file operation (components.md §2).
        raise ServerUnavailable("the Samba fixture needs root (smbd cannot serve files otherwise)")
    import pwd

    try:
        pwd.getpwnam(SMB_USER)
    except KeyError:
        subprocess.run(["useradd", "-M", "-s", "/usr/sbin/nologin", SMB_USER], check=True, capture_output=True)
    # mkdtemp is 0700: the share user must be able to traverse it.
    root = Path(tempfile.mkdtemp(prefix="azs-samba-"))
    root.chmod(0o755)
    for sub in ("share", "private", "lock", "state", "cache", "pid", "log", "ncalrpc"):
        (root / sub).mkdir()
    shutil.chown(root / "share", user=SMB_USER)
    port = free_port()
    conf = root / "smb.conf"
    conf.write_text(_SMB_CONF.format(port=port, root=root, share=SMB_SHARE, user=SMB_USER))
    subprocess.run(
        [smbpasswd, "-c", str(conf), "-s", "-a", SMB_USER],
        input=f"{SMB_PASSWORD}\n{SMB_PASSWORD}\n", text=True, check=True, capture_output=True,
    )
    out = root / "smbd.out"
    with open(out, "wb") as log:
        # Own session + --no-process-group: smbd signals its process group on SIGTERM, which
        # would otherwise kill pytest itself.
        proc = subprocess.Popen(
            [smbd, "--foreground", "--no-process-group", "--debug-stdout", "-s", str(conf)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=_die_with_parent,
        )
    try:
        _wait_port(port, proc, "smbd", out)
        yield Samba(host="127.0.0.1", port=port, share=SMB_SHARE, user=SMB_USER, password=SMB_PASSWORD,
                    path=root / "share", root=root)
    finally:
        _stop(proc)
        shutil.rmtree(root, ignore_errors=True)


def _stop(proc: subprocess.Popen) -> None:
    """Stop a server started with start_new_session=True, children included."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    # The process group id is the leader's pid; its children (smbd forks) may outlive it.
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        pass
