"""`pep serve`: the PEP over WS-Management + PSRP.

    serve(env, listen="127.0.0.1:5985", https=False, auth=("basic", "ntlm", "negotiate"),
          admin_password_file=None)                 # blocks until SIGINT/SIGTERM, returns 0
    ListenerThread(env, https=..., ...).start()    # tests/benchmarks: port 0, .port, .stop()

Python clients: pypsrp's Client.execute_ps wraps the script in `Invoke-Expression ... |
Out-String -Stream`, which a NoLanguage PEP refuses (Invoke-Expression is not visible). Call the
PEP with a RunspacePool(configuration_name="PrivilegedEndpoint") and
PowerShell(pool).add_cmdlet("Get-AzureStackLog").add_parameter(...).invoke().
"""
from __future__ import annotations

import asyncio
import datetime
import hashlib
import ipaddress
import logging
import os
import signal
import ssl
import sys
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from aiohttp import web

from common.processes import this_host
from common.redact import RedactingFormatter
from common.state import atomic_write
from powershell.limits import Limits
from session.accounts import Accounts
from session.connections import ConnectionGuard, ConnectionLimits
from session.environment import Environment
from session.listener.http import WSManHTTP
from session.listener.runner import Runner
from session.listener.shells import ShellTable
from session.loopthread import LoopThread
from session.signin import LockoutPolicy, SignInGate

log = logging.getLogger(__name__)

DEFAULT_AUTH = ("basic", "ntlm", "negotiate")


# -- certificate ---------------------------------------------------------------------------------
def ensure_certificate(state_dir: Path, hostnames: Iterable[str]) -> tuple[Path, Path]:
    """A self-signed RSA-2048/SHA-256 certificate kept in <state>/listener (made on first start)."""
    folder = state_dir / "listener"
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    names = list(dict.fromkeys(hostnames))
    sans: list[x509.GeneralName] = []
    for n in names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            sans.append(x509.DNSName(n))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    atomic_write(key_path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()))
    os.chmod(key_path, 0o600)
    atomic_write(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def channel_binding_data(cert_path: Path) -> bytes:
    """RFC 5929 tls-server-end-point: hash of the DER certificate (SHA-256 for MD5/SHA-1/SHA-256 signatures)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    algo = cert.signature_hash_algorithm
    name = algo.name if algo is not None else "sha256"
    if name in ("md5", "sha1"):
        name = "sha256"
    digest = hashlib.new(name, cert.public_bytes(serialization.Encoding.DER)).digest()
    return b"tls-server-end-point:" + digest


# -- assembly ------------------------------------------------------------------------------------
class Listener:
    """Everything one listener owns; `start()`/`stop()` run on an asyncio loop."""

    def __init__(self, env: Environment, *, https: bool = False, auth: Iterable[str] = DEFAULT_AUTH,
                 admin_password_file: str | os.PathLike | None = None, idle_timeout: float | None = None,
                 keepalive_timeout: float | None = None, workers: int | None = None,
                 runspace_factory: Any = None):
        self.env = env
        self.https = https
        self.auth = {a.strip().lower() for a in auth if a.strip()}
        unknown = self.auth - set(DEFAULT_AUTH)
        if unknown:
            raise ValueError(f"Unknown authentication method(s): {', '.join(sorted(unknown))}. Use basic, ntlm, negotiate.")
        if not https and not self.auth - {"basic"}:
            # As WinRM: Basic sends the password in the clear, so plain HTTP never offers it.
            raise ValueError("Basic authentication needs HTTPS: add --https, or use --auth ntlm,negotiate on plain HTTP.")
        stamp = env.stamp
        self.machine = stamp.ercs_name
        # the process's one account store, which the account cmdlets change too (session/accounts.py)
        self.accounts: Accounts = env.accounts
        self.generated_password = self.accounts.ensure_admin(admin_password_file)
        self.gate = SignInGate(self.accounts, LockoutPolicy.from_settings(env.setting))
        self.idle_timeout = float(idle_timeout if idle_timeout is not None else env.setting("listener.idle_timeout_seconds", 7200))
        # A signed-in connection (and its NTLM sealing keys) is kept across a client's idle gaps;
        # one that has not signed in is closed much sooner (ConnectionLimits.sign_in).
        self.keepalive_timeout = float(keepalive_timeout if keepalive_timeout is not None
                                       else env.setting("listener.keepalive_seconds", max(3600.0, self.idle_timeout)))
        self.connection_limits = ConnectionLimits.from_settings(env.setting)
        self.executor = ThreadPoolExecutor(max_workers=workers or int(env.setting("listener.workers", 64)),
                                           thread_name_prefix="pep-pipeline")
        factory = runspace_factory or self._default_runspace
        self.runner = Runner(factory, self.executor)
        self.table = ShellTable(self.runner, machine=self.machine, idle_timeout=self.idle_timeout,
                                max_shells_per_user=int(env.setting("listener.max_shells_per_user", 25)),
                                max_shells=int(env.setting("listener.max_shells", 300)),
                                valid_user=self.accounts.exists,
                                on_shell_closed=self._shell_closed, limits=Limits.from_env(env))
        self.ssl_context: ssl.SSLContext | None = None
        cbt = None
        if https:
            cert = env.setting("listener.certificate")
            key = env.setting("listener.key")
            if cert and key:
                cert_path, key_path = Path(cert), Path(key)
            else:
                cert_path, key_path = ensure_certificate(env.state.path, ["localhost", "127.0.0.1", self.machine, this_host()])
            self.cert_path = cert_path
            self.ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.ssl_context.load_cert_chain(str(cert_path), str(key_path))
            cbt = channel_binding_data(cert_path)
        self.http = WSManHTTP(self.table, self.accounts.ntlm_file, self.accounts.display_name, self.gate,
                              https=https, auth=self.auth, cbt=cbt, machine=self.machine,
                              max_envelope=int(env.setting("listener.max_envelope_kb", 500)) * 1024)
        self._runner: web.AppRunner | None = None
        self._server: asyncio.Server | None = None
        self._reaper: asyncio.Task | None = None
        self._closing: set[asyncio.Task] = set()
        self.port: int | None = None
        self.host: str | None = None

    def _default_runspace(self, shell: Any, host: Any) -> Any:
        from collector.output_roots import configured_roots
        from session.runspace import Runspace

        # A remote session writes to this computer's disk only under the output roots (docs/security.md).
        roots = configured_roots(self.env.setting("collection.output_roots"), self.env.state.path)
        return Runspace(self.env, host=host, user=shell.owner, output_roots=roots)

    def _shell_closed(self, shell: Any) -> None:
        loop = asyncio.get_running_loop()

        async def close_runspace() -> None:
            tasks = [c.task for c in list(shell.commands.values()) if c.task is not None]
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
            async with shell.run_lock:
                if shell.runspace is not None and hasattr(shell.runspace, "close"):
                    await loop.run_in_executor(self.executor, shell.runspace.close)

        task = loop.create_task(close_runspace())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def start(self, host: str = "127.0.0.1", port: int = 5985) -> int:
        app = self.http.app()
        self._runner = web.AppRunner(app, keepalive_timeout=self.keepalive_timeout, access_log=None,
                                     handle_signals=False)
        await self._runner.setup()
        protocols = self._runner.server
        assert protocols is not None  # set by setup()
        guard = ConnectionGuard(self.connection_limits, protocols, self.http.signed_in)
        self._server = await asyncio.get_running_loop().create_server(
            guard, host, port, ssl=self.ssl_context, backlog=256, reuse_address=True)
        self.host, self.port = host, self._server.sockets[0].getsockname()[1]  # the bound port when 0 was asked for
        self._reaper = asyncio.get_running_loop().create_task(self._reap())
        return self.port

    async def _reap(self) -> None:
        period = max(0.5, min(60.0, self.idle_timeout / 4))
        while True:
            await asyncio.sleep(period)
            try:
                self.table.reap()
            except Exception:  # pragma: no cover
                log.exception("reaper")

    async def stop(self) -> None:
        if self._reaper:
            self._reaper.cancel()
        for shell in list(self.table.shells.values()):
            self.table.close_shell(shell)
        if self._closing:  # let running commands see the stop and transcripts close
            await asyncio.wait(list(self._closing), timeout=10)
        if self._server:
            self._server.close()
        if self._runner:
            await self._runner.cleanup()
        self.gate.close()
        self.executor.shutdown(wait=False, cancel_futures=True)

    @property
    def url(self) -> str:
        return f"{'https' if self.https else 'http'}://{self.host}:{self.port}/wsman"


def parse_listen(listen: str, https: bool) -> tuple[str, int]:
    default_port = 5986 if https else 5985
    if not listen:
        return "127.0.0.1", default_port
    if listen.startswith("["):  # [::1]:5985
        host, _, port = listen[1:].partition("]")
        return host, int(port.lstrip(":") or default_port)
    if listen.count(":") == 1:
        host, port = listen.split(":")
        return host or "0.0.0.0", int(port)
    if listen.isdigit():
        return "127.0.0.1", int(listen)
    return listen, default_port


def serve(env: Environment, listen: str = "127.0.0.1:5985", https: bool = False, auth: Iterable[str] = DEFAULT_AUTH,
          admin_password_file: str | os.PathLike | None = None, out: Any = None, portal: str | None = None) -> int:
    """Run the listener until SIGINT/SIGTERM. Prints the URL (and a generated password, once).
    `portal` HOST:PORT: the Help + Support service too (session/portal), sharing the listener's
    sign-in gate (a lockout counts across both) and, with `https`, its certificate."""
    out = out or sys.stdout
    host, port = parse_listen(listen, https)
    portal_address = None
    if portal:
        from session.portal.service import parse_address

        portal_address = parse_address(portal)
    log_path = _log_to(env.state.sub("logs") / "pep-serve.log")
    listener = Listener(env, https=https, auth=auth, admin_password_file=admin_password_file)

    async def main() -> None:
        await listener.start(host, port)
        service = None
        if portal_address is not None:
            from session.portal.service import Portal

            service = Portal(env, gate=listener.gate, ssl_context=listener.ssl_context)
            try:
                await service.start(*portal_address)
            except BaseException:
                await service.stop()
                await listener.stop()
                raise
        # SIGINT/SIGTERM stop the listener cleanly from the moment it listens (before "Listening on" is
        # printed: whoever waits for that line may send SIGTERM at once)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):
                pass
        print(f"Listening on {listener.url} (configuration PrivilegedEndpoint; auth: "
              f"{', '.join(sorted(listener.auth if https else listener.auth - {'basic'}))})\n"
              f"Log: {log_path}", file=out, flush=True)
        if service is not None:
            print(f"Help + Support on {service.url} (API under {service.url}api/)", file=out, flush=True)
        if listener.generated_password:
            print(f"Created account {listener.accounts.netbios}\\CloudAdmin with password: {listener.generated_password}\n"
                  f"(shown once; set PEP_ADMIN_PASSWORD or --admin-password-file to choose it)", file=out, flush=True)
        await stop.wait()
        if service is not None:
            await service.stop()
        await listener.stop()

    asyncio.run(main())
    return 0


def _log_to(path: Path) -> Path:
    """The server's own log: sign-in failures, lockouts and refused connections (INFO and up) in
    `<state>/logs/pep-serve.log`; warnings are shown on stderr as well."""
    # Redacted line by line (common.redact): a logged request, path or traceback may quote a secret.
    fmt = RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    to_file = logging.FileHandler(path, encoding="utf-8")
    to_file.setFormatter(fmt)
    to_stderr = logging.StreamHandler(sys.stderr)
    to_stderr.setLevel(logging.WARNING)
    to_stderr.setFormatter(fmt)
    for name in ("pep", "session"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        logger.addHandler(to_file)
        logger.addHandler(to_stderr)
    os.chmod(path, 0o600)
    return path


class ListenerThread(LoopThread[Listener]):
    """A listener on its own event loop in a daemon thread (tests, benchmarks)."""

    def __init__(self, env: Environment, host: str = "127.0.0.1", port: int = 0, **kwargs: Any):
        super().__init__(Listener(env, **kwargs), host, port, "pep-listener")
        self.listener = self.server

    @property
    def port(self) -> int:
        return self.listener.port or 0


def main_serve(env: Environment, args: Any) -> int:
    """`pep serve` from the CLI's parsed arguments (listen, https, auth, admin_password_file, portal)."""
    from session.accounts import AccountError

    https = bool(getattr(args, "https", False))
    listen = getattr(args, "listen", None) or ("127.0.0.1:5986" if https else "127.0.0.1:5985")
    auth = [a for a in str(getattr(args, "auth", None) or ",".join(DEFAULT_AUTH)).split(",") if a.strip()]
    try:
        return serve(env, listen=listen, https=https, auth=auth,
                     admin_password_file=getattr(args, "admin_password_file", None),
                     portal=getattr(args, "portal", None))
    except (AccountError, ValueError) as e:
        print(f"pep serve: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # port in use, address not available
        print(f"pep serve: cannot listen on {listen}"
              f"{' or ' + str(getattr(args, 'portal', None)) if getattr(args, 'portal', None) else ''}: {e.strerror or e}",
              file=sys.stderr)
        return 1
