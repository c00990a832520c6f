"""Get-AzureStackLog end to end through the runspace to a real Samba share and a real Azurite
container: delivery, pre-flight refusals, resume after kill -9, -InputSasUri, partial failure,
Send-AzureStackDiagnosticLog. What is asserted is what an operator sees: the bundle at the
destination, the error records, the console text, the transcript."""
from __future__ import annotations

import hashlib
import io
import json
import signal
import subprocess
import sys
import time
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from enginehelp import small_stamp
from psrpcore.types import PSCredential, PSSecureString

from powershell.formatting.sinks import ConsoleSink
from powershell.invocation import CommandArgument, CommandCall
from powershell.pipeline import ListSink
from session.environment import Environment
from session.runspace import Runspace

ROOT = Path(__file__).resolve().parent.parent
ROLES = "CA,ECE,URP"  # a few role instances on a generated stamp: small and quick, several zips
BUNDLE_PREFIX = "AzureStackLogs-"


@pytest.fixture(scope="module")
def stamp(tmp_path_factory):
    # Ends now, so the default window (the last 4 hours) holds logs.
    return small_stamp(tmp_path_factory.mktemp("stamp") / "s", days=0.5, mb_per_hour=0.3,
                       end=datetime.now(timezone.utc))


class Tee:
    """Every record to a ListSink (to assert on) and to the real console renderer (to read its text)."""

    def __init__(self):
        self.records = ListSink()
        self.buf = io.StringIO()
        self.console = ConsoleSink(self.buf, self.buf, width=200, is_tty=False)

    def __getattr__(self, name):
        def both(*a, **kw):
            getattr(self.records, name)(*a, **kw)
            getattr(self.console, name)(*a, **kw)
        return both

    @property
    def text(self) -> str:
        self.console.flush()
        return self.buf.getvalue()


def env_for(stamp, tmp_path, config=None) -> Environment:
    return Environment(stamp_dir=stamp, state_dir=tmp_path / "st", config=config or {})


def invoke(env, text_or_calls):
    tee = Tee()
    rs = Runspace(env)
    try:
        if isinstance(text_or_calls, str):
            result = rs.invoke(text_or_calls, tee)
        else:
            result = rs.invoke_calls(text_or_calls, tee)
    finally:
        rs.close()
    return result, tee


def call(name: str, **params) -> list[CommandCall]:
    """A command-form pipeline with typed values (what remoting sends); True is a switch."""
    args = []
    for k, v in params.items():
        args.append(CommandArgument(parameter=k))
        if v is not True:
            args.append(CommandArgument(value=v))
    return [CommandCall(name, args)]


def share_cred(samba, password=None):
    return PSCredential(samba.user, PSSecureString(password or samba.password))


def transcripts(env) -> str:
    return "\n".join(p.read_text() for p in env.state.transcripts.glob("*.txt"))


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def only_bundle(folder: Path) -> Path:
    (b,) = [p for p in folder.iterdir() if p.name.startswith(BUNDLE_PREFIX)]
    return b


def staging_files(env) -> list[Path]:
    d = env.state.path / "collector" / "staging"
    return [p for p in d.rglob("*") if p.is_file()] if d.exists() else []


def lock_files(env) -> list[Path]:
    d = env.state.path / "collector" / "locks"
    return list(d.iterdir()) if d.exists() else []


def units(env, roles=ROLES) -> int:
    return sum(len(env.stamp.roles[r]) for r in roles.split(","))


def check_bundle(files: dict[str, bytes], manifest_roles: set[str]) -> dict:
    """files: name -> bytes of everything in one bundle. Checks the package and returns the manifest."""
    assert "Get-AzureStackLog_Output.log" in files and "manifest.json" in files
    assert not [n for n in files if n.endswith(".partial")]
    m = json.loads(files["manifest.json"])
    assert m["status"] == "complete"
    assert set(m["roles"]) == manifest_roles
    zips = {z["name"]: z for r in m["roles"].values() for z in r["zips"]}
    assert zips and set(zips) == {n for n in files if n.endswith(".zip")}
    for name, z in zips.items():
        assert hashlib.sha256(files[name]).hexdigest() == z["sha256"] and len(files[name]) == z["bytes"]
        assert zipfile.ZipFile(io.BytesIO(files[name])).testzip() is None
    assert m["summary"]["files"] > 0
    return m


# -- 1. the share ---------------------------------------------------------------------------

def test_collect_to_the_share_with_a_pscredential(stamp, tmp_path, samba):
    env = env_for(stamp, tmp_path)
    unc = samba.unc("e2e", "one")
    r, t = invoke(env, call("Get-AzureStackLog", OutputSharePath=unc, OutputShareCredential=share_cred(samba),
                            FilterByRole=ROLES.split(",")))
    assert r.state == "Completed" and not t.records.errors, t.text
    bundle = only_bundle(samba.path / "e2e" / "one")
    ercs = env.stamp.ercs_name.upper()
    assert bundle.name.startswith(BUNDLE_PREFIX) and bundle.name.endswith(f"-{ercs}")
    datetime.strptime(bundle.name[len(BUNDLE_PREFIX):-len(ercs) - 1], "%Y%m%d%H%M%S")
    files = {p.name: p.read_bytes() for p in bundle.iterdir()}
    m = check_bundle(files, {"CA", "ECE", "URP"})
    assert sorted(n for n in files if n.endswith(".zip")) == ["CA_1.zip", "ECE_1.zip", "URP_1.zip"]
    assert m["request"]["destination"] == unc
    n = units(env)
    assert f"collected {n} of {n} role instances" in t.text and f"{unc}\\{bundle.name}" in t.text
    log = files["Get-AzureStackLog_Output.log"].decode()
    assert "Converting FromDate and ToDate to UTC" in log and f"collected {n} of {n}" in log
    for text in (t.text, log, files["manifest.json"].decode(), transcripts(env)):
        assert samba.password not in text
    assert not staging_files(env) and not lock_files(env)


# -- 2. the blob container --------------------------------------------------------------------

def blob_files(azurite, container: str) -> dict[str, dict[str, bytes]]:
    """bundle prefix -> {name: bytes} of the committed blobs of a container."""
    cc = azurite.container(container)
    out: dict[str, dict[str, bytes]] = {}
    for b in cc.list_blobs():
        prefix, _, name = b.name.partition("/")
        out.setdefault(prefix, {})[name] = cc.download_blob(b.name).readall()
    return out


def test_collect_to_a_container_sas(stamp, tmp_path, azurite):
    env = env_for(stamp, tmp_path, {"upload": {"block_size_mb": 0.0625}})
    sas = azurite.make_container_sas("e2eblob", permissions="rwl")
    sig = sas.split("sig=")[1].split("&")[0]
    r, t = invoke(env, f"Get-AzureStackLog -OutputSasUri '{sas}' -FilterByRole {ROLES}")
    assert r.state == "Completed" and not t.records.errors, t.text
    bundles = blob_files(azurite, "e2eblob")
    assert len(bundles) == 1
    (prefix, files), = bundles.items()
    assert prefix.startswith(BUNDLE_PREFIX) and prefix.endswith("-" + env.stamp.ercs_name.upper())
    m = check_bundle(files, {"CA", "ECE", "URP"})
    assert m["bundle"] == prefix
    # all committed: no blob of the container has uncommitted blocks left
    cc = azurite.container("e2eblob")
    for b in cc.list_blobs():
        assert cc.get_blob_client(b.name).get_block_list("uncommitted")[1] == []
    n = units(env)
    assert f"collected {n} of {n} role instances" in t.text
    for text in (t.text, files["Get-AzureStackLog_Output.log"].decode(), files["manifest.json"].decode(),
                 transcripts(env)):
        assert sig not in text
    assert not staging_files(env) and not lock_files(env)


# -- 3. pre-flight refusals: no work at all -----------------------------------------------------

def collector_state_files(env) -> list[Path]:
    """Everything the engine keeps in the state directory (journals, staging, locks, bundle clock)."""
    d = env.state.path / "collector"
    return [p for p in d.rglob("*") if p.is_file()] if d.exists() else []


def assert_refused(env, r, t, error_id: str, secrets: list[str], elapsed: float):
    assert r.state == "Failed" and r.had_errors
    assert [e.FullyQualifiedErrorId for e in t.records.errors] == [f"{error_id},Get-AzureStackLog"]
    assert f"FullyQualifiedErrorId : {error_id},Get-AzureStackLog" in t.text
    # refused before anything was scanned, staged, zipped or locked
    assert collector_state_files(env) == []
    assert not any("in the window" in v for v in t.records.verboses)
    assert not t.records.progresses
    assert "Converting FromDate" not in t.text
    assert elapsed < 10
    for s in secrets:
        for text in (str(t.records.errors[0].Exception.Message), t.text, transcripts(env)):
            assert s not in text


def sig_of(url: str) -> str:
    return url.split("sig=")[1].split("&")[0]


@pytest.mark.parametrize("case,error_id", [
    ("expired", "SasUriExpired"),
    ("tampered", "SasUriAuthenticationFailed"),
    ("read-only", "SasUriPermissionDenied"),
    ("unsigned", "InvalidSasUri"),
])
def test_sas_refused_before_collecting(stamp, tmp_path, azurite, case, error_id):
    container = f"pf{case.replace('-', '')}"
    if case == "expired":
        sas = azurite.make_container_sas(container, expiry=timedelta(minutes=-5))
    elif case == "read-only":
        sas = azurite.make_container_sas(container, permissions="rl")
    else:
        sas = azurite.make_container_sas(container)
    secrets = [sig_of(sas)]
    if case == "tampered":
        sas = sas.replace("sig=", "sig=AAAA")
        secrets.append(sig_of(sas))
    elif case == "unsigned":
        sas = "&".join(p for p in sas.split("&") if not p.startswith("sig="))
        secrets = []
    env = env_for(stamp, tmp_path)
    t0 = time.monotonic()
    r, t = invoke(env, f"Get-AzureStackLog -OutputSasUri '{sas}' -FilterByRole {ROLES} -Verbose")
    assert_refused(env, r, t, error_id, secrets, time.monotonic() - t0)
    assert [b.name for b in azurite.container(container).list_blobs()] == []


@pytest.mark.parametrize("case,error_id", [
    ("wrong password", "ShareLogonFailure"),
    ("missing share", "SharePathNotFound"),
])
def test_share_refused_before_collecting(stamp, tmp_path, samba, case, error_id):
    env = env_for(stamp, tmp_path)
    wrong = "Not-The-Pw-4711"
    if case == "wrong password":
        unc, cred = samba.unc("refused"), share_cred(samba, wrong)
    else:
        unc, cred = f"\\\\{samba.host}@{samba.port}\\noshare\\refused", share_cred(samba)
    t0 = time.monotonic()
    r, t = invoke(env, call("Get-AzureStackLog", OutputSharePath=unc, OutputShareCredential=cred,
                            FilterByRole=ROLES.split(","), Verbose=True))
    assert_refused(env, r, t, error_id, [wrong, samba.password], time.monotonic() - t0)
    assert not (samba.path / "refused").exists()


@pytest.mark.parametrize("unc", ["\\\\\\\\fs01\\logs", "fs01\\logs", "\\\\fs01"])
def test_malformed_share_path_is_an_invalid_share_path_record(stamp, tmp_path, unc):
    # An operator doubling the backslashes (or forgetting them) got an InternalError and a traceback.
    env = env_for(stamp, tmp_path)
    t0 = time.monotonic()
    r, t = invoke(env, call("Get-AzureStackLog", OutputSharePath=unc,
                            OutputShareCredential=PSCredential("op", PSSecureString("Pw-0815-secret")),
                            FilterByRole=ROLES.split(","), Verbose=True))
    assert_refused(env, r, t, "InvalidSharePath", ["Pw-0815-secret"], time.monotonic() - t0)
    assert "is not a UNC path such as \\\\server\\share\\folder" in t.text
    assert "Traceback" not in t.text


# -- 4. resume after kill -9 ----------------------------------------------------------------------

CHILD = """
import json, sys
sys.path.insert(0, {root!r})
from psrpcore.types import PSCredential, PSSecureString
from powershell.invocation import CommandArgument, CommandCall
from powershell.pipeline import ListSink
from session.environment import Environment
from session.runspace import Runspace
a = json.loads({args!r})
env = Environment(stamp_dir=a["stamp"], state_dir=a["state"], config=a["config"])
rs = Runspace(env)
if a.get("text"):
    rs.invoke(a["text"], ListSink())
else:
    args = [CommandArgument(parameter="OutputSharePath"), CommandArgument(value=a["unc"]),
            CommandArgument(parameter="OutputShareCredential"),
            CommandArgument(value=PSCredential(a["user"], PSSecureString(a["password"]))),
            CommandArgument(parameter="FilterByRole"), CommandArgument(value=a["roles"])]
    rs.invoke_calls([CommandCall("Get-AzureStackLog", args)], ListSink())
print("finished")
"""


def start_child(**args) -> subprocess.Popen:
    script = CHILD.format(root=str(ROOT), args=json.dumps(args, default=str))
    return subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def kill_when(child: subprocess.Popen, ready, timeout: float = 60) -> None:
    try:
        deadline = time.monotonic() + timeout
        while not ready():
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "the collection never reached the point to kill it"
            time.sleep(0.05)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    assert child.returncode == -signal.SIGKILL


def staged(cc, name: str) -> int:
    """Uncommitted blocks of a blob: sent, but not (yet) a blob anyone can see."""
    from azure.core.exceptions import ResourceNotFoundError
    try:
        return len(cc.get_blob_client(name).get_block_list("uncommitted")[1])
    except ResourceNotFoundError:
        return 0


def journal_bundle(env) -> str | None:
    for p in (env.state.path / "collector" / "journals").glob("*.jsonl"):
        return json.loads(p.read_text().splitlines()[0])["bundle"]
    return None


# Roles whose zips differ in size: the biggest (VirtualMachines) is still uploading when a smaller
# one is already committed (two zips in flight share one bandwidth cap).
RESUME_ROLES = "VirtualMachines,BareMetal,Storage,CA,ECE"


def test_blob_resume_after_kill_9(stamp, tmp_path, azurite):
    cfg = {"upload": {"block_size_mb": 1 / 64, "bandwidth_mbps": 1, "concurrency": 1},
           "collection": {"concurrency": 2}}
    env = env_for(stamp, tmp_path, cfg)
    sas = azurite.make_container_sas("resumeblob")
    cc = azurite.container("resumeblob")
    text = f"Get-AzureStackLog -OutputSasUri '{sas}' -FilterByRole {RESUME_ROLES}"
    child = start_child(stamp=stamp, state=env.state.path, config=cfg, text=text)

    def mid_delivery() -> bool:  # a smaller zip committed while the biggest is part-way up
        bundle = journal_bundle(env)
        committed = [b.name for b in cc.list_blobs() if b.name.endswith(".zip")]
        return bool(bundle and committed and staged(cc, f"{bundle}/VirtualMachines_1.zip") >= 3)

    kill_when(child, mid_delivery)
    bundle = journal_bundle(env)
    vm = f"{bundle}/VirtualMachines_1.zip"
    before = {b.name: b.etag for b in cc.list_blobs()}
    left_staged = staged(cc, vm)
    # the in-progress marker: the killed bundle's manifest says it is not whole
    marker = before.pop(f"{bundle}/manifest.json", None)
    assert marker and json.loads(cc.download_blob(f"{bundle}/manifest.json").readall())["status"] == "running"
    assert before and vm not in before and left_staged >= 3
    for name in before:  # every blob visible under its final name is a whole zip
        assert zipfile.ZipFile(io.BytesIO(cc.download_blob(name).readall())).testzip() is None

    r, t = invoke(env, text + " -Verbose")
    assert r.state == "Completed" and not t.records.errors, t.text
    files = blob_files(azurite, "resumeblob")
    assert list(files) == [bundle]
    m = check_bundle(files[bundle], set(RESUME_ROLES.split(",")))
    assert m["resumed"] is True
    after = {b.name: b.etag for b in cc.list_blobs()}
    for name, etag in before.items():  # committed blobs were not sent again
        assert after[name] == etag
    assert any("Resuming the collection" in str(i) for i in t.records.informations)
    vm_lines = [v for v in t.records.verboses if v.startswith("Delivered VirtualMachines_1.zip")]
    assert vm_lines and f"{left_staged} of " in vm_lines[0] and "already at the destination" in vm_lines[0], vm_lines
    (vmz,) = m["roles"]["VirtualMachines"]["zips"]
    assert vmz["bytes_resumed"] > 0
    assert not staging_files(env) and not lock_files(env)


def test_share_resume_after_kill_9(stamp, tmp_path, samba):
    cfg = {"upload": {"bandwidth_mbps": 1}, "smb": {"chunk_size_mb": 1 / 64}, "collection": {"concurrency": 2}}
    env = env_for(stamp, tmp_path, cfg)
    unc = samba.unc("e2e-resume")
    child = start_child(stamp=stamp, state=env.state.path, config=cfg, unc=unc, user=samba.user,
                        password=samba.password, roles=RESUME_ROLES.split(","))

    def folder() -> Path | None:
        bundle = journal_bundle(env)
        return samba.path / "e2e-resume" / bundle if bundle else None

    def mid_delivery() -> bool:
        f = folder()
        if f is None or not f.is_dir():
            return False
        partial = f / "VirtualMachines_1.zip.partial"
        return any(f.glob("*.zip")) and partial.is_file() and partial.stat().st_size >= 3 * 16384

    kill_when(child, mid_delivery)
    b = folder()
    first = {z.name: (z.stat().st_ino, z.stat().st_mtime_ns) for z in b.glob("*.zip")}
    assert first and "VirtualMachines_1.zip" not in first
    assert (b / "VirtualMachines_1.zip.partial").is_file()
    assert json.loads((b / "manifest.json").read_text())["status"] == "running"  # the in-progress marker
    for z in b.glob("*.zip"):  # every file under its final name is a whole zip
        with zipfile.ZipFile(z) as zf:
            assert zf.testzip() is None

    r, t = invoke(env, call("Get-AzureStackLog", OutputSharePath=unc, OutputShareCredential=share_cred(samba),
                            FilterByRole=RESUME_ROLES.split(","), Verbose=True))
    assert r.state == "Completed" and not t.records.errors, t.text
    assert [p.name for p in (samba.path / "e2e-resume").iterdir()] == [b.name]
    m = check_bundle({p.name: p.read_bytes() for p in b.iterdir()}, set(RESUME_ROLES.split(",")))
    assert m["resumed"] is True
    for name, (ino, mt) in first.items():  # delivered zips were not copied again
        assert ((b / name).stat().st_ino, (b / name).stat().st_mtime_ns) == (ino, mt)
    vm_lines = [v for v in t.records.verboses if v.startswith("Delivered VirtualMachines_1.zip")]
    assert vm_lines and "bytes were already at the destination" in vm_lines[0], vm_lines
    (vmz,) = m["roles"]["VirtualMachines"]["zips"]
    assert vmz["bytes_resumed"] > 0
    assert not staging_files(env) and not lock_files(env)


# -- 5. Send-AzureStackDiagnosticLog ----------------------------------------------------------------

def test_send_diagnostic_log_to_the_support_container(stamp, tmp_path, azurite):
    sas = azurite.make_container_sas("support", permissions="rwl")
    env = env_for(stamp, tmp_path, {"support": {"sas_url": sas}})
    r, t = invoke(env, "Send-AzureStackDiagnosticLog -FilterByRole CA,ECE")
    assert r.state == "Completed" and not t.records.errors, t.text
    files = blob_files(azurite, "support")
    assert len(files) == 1
    (prefix, bundle), = files.items()
    m = check_bundle(bundle, {"CA", "ECE"})
    assert m["tool"].startswith("Get-AzureStackLog") and m["bundle"] == prefix
    assert sig_of(sas) not in t.text + transcripts(env) + bundle["Get-AzureStackLog_Output.log"].decode()


def test_send_diagnostic_log_without_a_support_container(stamp, tmp_path):
    env = env_for(stamp, tmp_path)
    r, t = invoke(env, "Send-AzureStackDiagnosticLog -FilterByRole CA")
    assert [e.FullyQualifiedErrorId for e in t.records.errors] == ["StampNotRegistered,Send-AzureStackDiagnosticLog"]
    assert "support.sas_url" in str(t.records.errors[0].Exception.Message)
    assert collector_state_files(env) == []


# -- 6. -InputSasUri ----------------------------------------------------------------------------------

def test_input_sas_downloads_exactly_the_window(stamp, tmp_path, azurite):
    sas = azurite.make_container_sas("aksinput", permissions="rl")
    cc = azurite.container("aksinput")
    now = datetime.now(timezone.utc).replace(microsecond=0)
    name_at = lambda t: t.strftime("%Y%m%d%H%M%S")  # noqa: E731
    inside = {f"aks/node1_{name_at(now - timedelta(hours=1))}.zip": b"in-1" * 1000,
              f"aks/kubelet/{(now - timedelta(minutes=90)).strftime('%Y-%m-%dT%H-%M-%S')}/kubelet.log": b"in-2",
              "aks/undated.log": b"in-3: last modified now"}
    outside = {f"aks/node1_{name_at(now - timedelta(days=3))}.zip": b"old",
               f"aks/node2_{name_at(now - timedelta(hours=5))}.zip": b"before the window"}
    for name, data in {**inside, **outside}.items():
        cc.upload_blob(name, data, overwrite=True)
    out = tmp_path / "in"
    frm, to = (now - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ"), (now + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    env = env_for(stamp, tmp_path)
    r, t = invoke(env, f"Get-AzureStackLog -InputSasUri '{sas}' -OutputPath {out} -FromDate {frm} -ToDate {to}")
    assert r.state == "Completed" and not t.records.errors, t.text
    got = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert got == inside
    assert "Downloaded 3 file(s)" in t.text and sig_of(sas) not in t.text + transcripts(env)


# -- 7. partial failure to a share ---------------------------------------------------------------------

def test_unreachable_host_reported_in_manifest_and_console(stamp, tmp_path, samba):
    env = env_for(stamp, tmp_path, {"faults": {"unreachable_hosts": ["azs-xrp02"]}})
    r, t = invoke(env, call("Get-AzureStackLog", OutputSharePath=samba.unc("e2e-partial"),
                            OutputShareCredential=share_cred(samba), FilterByRole=["URP", "CA"]))
    assert r.state == "Completed" and not t.records.errors, t.text
    b = only_bundle(samba.path / "e2e-partial")
    m = json.loads((b / "manifest.json").read_text())
    assert m["status"] == "partial"
    failed = [(role, host) for role, rv in m["roles"].items() for host, h in rv["hosts"].items() if h["status"] != "ok"]
    assert failed == [("URP", "azs-xrp02")]
    assert m["roles"]["URP"]["hosts"]["azs-xrp02"]["files"] == 0
    assert "WinRM" in m["roles"]["URP"]["hosts"]["azs-xrp02"]["error"]
    assert any(n["host"] == "azs-xrp02" and n["role"] == "URP" for n in m["not_collected"])
    lines = t.text.strip().splitlines()
    warnings = [i for i, line in enumerate(lines) if line.startswith("WARNING:")]
    assert [lines[i].split(":")[1].strip() for i in warnings] == ["URP on azs-xrp02"]
    total = units(env, "URP,CA")
    (done,) = [i for i, line in enumerate(lines) if f"collected {total - 1} of {total} role instances" in line]
    assert warnings[-1] < done and done >= len(lines) - 2  # the summary closes the output
    log = (b / "Get-AzureStackLog_Output.log").read_text()
    assert "WARNING: URP on azs-xrp02: failed" in log and f"collected {total - 1} of {total}" in log


def test_stop_mid_upload_is_reported_as_stopped_and_resumes(stamp, tmp_path, azurite):
    """Ctrl+C while a zip is uploading: the command stops, the manifest says 'stopped' (not failed),
    the half-sent blob stays invisible, the lock is freed; the same command then finishes it."""
    import threading

    cfg = {"upload": {"block_size_mb": 1 / 64, "bandwidth_mbps": 1, "concurrency": 1},
           "collection": {"concurrency": 2}}
    env = env_for(stamp, tmp_path, cfg)
    sas = azurite.make_container_sas("stopblob")
    cc = azurite.container("stopblob")
    text = f"Get-AzureStackLog -OutputSasUri '{sas}' -FilterByRole {RESUME_ROLES}"
    stop = threading.Event()

    def press_ctrl_c():
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not stop.is_set():
            bundle = journal_bundle(env)
            if bundle and staged(cc, f"{bundle}/VirtualMachines_1.zip") >= 3:
                stop.set()
            time.sleep(0.05)

    watcher = threading.Thread(target=press_ctrl_c)
    watcher.start()
    tee = Tee()
    rs = Runspace(env)
    try:
        r = rs.invoke(text, tee, stop_event=stop)
    finally:
        stop.set()
        watcher.join()
        rs.close()
    assert r.state == "Stopped"
    bundle = journal_bundle(env)
    names = {b.name for b in cc.list_blobs()}
    assert f"{bundle}/VirtualMachines_1.zip" not in names
    m = json.loads(cc.download_blob(f"{bundle}/manifest.json").readall())
    assert m["status"] == "stopped"
    vm = m["roles"]["VirtualMachines"]["hosts"]
    assert {h["status"] for h in vm.values()} == {"stopped"}
    assert not any("failed" in (n["reason"] or "") for n in m["not_collected"])
    assert not lock_files(env)

    r, t = invoke(env, text + " -Verbose")
    assert r.state == "Completed" and not t.records.errors, t.text
    m = check_bundle(blob_files(azurite, "stopblob")[bundle], set(RESUME_ROLES.split(",")))
    assert m["roles"]["VirtualMachines"]["zips"][0]["bytes_resumed"] > 0
