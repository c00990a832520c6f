"""Attack tests: where a session may make the server write (docs/security.md, "Where a session may
write"), and the in-progress marker of a bundle killed mid-way ("Interrupted collections").

A remote session comes through a real listener (the default runspace factory of `pep serve`, which
passes the configured output roots) and the real pypsrp client; the console is a real `pep -c`
subprocess. Every refusal must leave the disk untouched.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from enginehelp import small_stamp
from pypsrp.powershell import PowerShell, PSInvocationState, RunspacePool
from test_listener_support import PASSWORD, wsman

from session.environment import Environment
from session.listener.server import ListenerThread

ROOT = Path(__file__).resolve().parent.parent
CONFIG = "PrivilegedEndpoint"
FROM, TO = "2026-11-25T08:00:00Z", "2026-11-25T12:00:00Z"  # inside the small stamp's day
PERMISSION_DENIED = 18  # ErrorCategory.PermissionDenied
INVALID_ARGUMENT = 5  # ErrorCategory.InvalidArgument


@pytest.fixture(scope="module")
def stamp(tmp_path_factory):
    return small_stamp(tmp_path_factory.mktemp("stamp") / "s")


def listen(tmp: Path, stamp: Path, config: dict | None = None) -> ListenerThread:
    """A listener with the default runspace factory of `pep serve` (no test cmdlets, real roots)."""
    env = Environment(stamp_dir=stamp, state_dir=tmp / "state", config=config or {})
    pw = tmp / "admin-password"
    pw.write_text(PASSWORD + "\n")
    return ListenerThread(env, admin_password_file=str(pw)).start()


@pytest.fixture(scope="module")
def served(tmp_path_factory, stamp):
    tmp = tmp_path_factory.mktemp("served")
    lt = listen(tmp, stamp)
    yield lt, tmp / "state" / "AzureStackLogs", tmp
    lt.stop()


def call(port: int, name: str, **params):
    with RunspacePool(wsman(port, "ntlm", False), configuration_name=CONFIG) as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet(name)
        for k, v in params.items():
            ps.add_parameter(k, v)
        out = ps.invoke()
        return ps, out


def collect(port: int, **params):
    return call(port, "Get-AzureStackLog", FilterByRole=["ECE"], FromDate=FROM, ToDate=TO, **params)


def tree(folder: Path) -> set[str]:
    if not folder.exists():
        return set()
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def bundles(folder: Path) -> list[Path]:
    return sorted(folder.glob("AzureStackLogs-*")) if folder.is_dir() else []


def refused(ps, error_id: str, cmdlet: str = "Get-AzureStackLog", category: int = PERMISSION_DENIED) -> str:
    assert ps.state == PSInvocationState.FAILED and ps.had_errors
    (err,) = ps.streams.error
    assert err.fq_error == f"{error_id},{cmdlet}"
    assert err.category == category
    assert not ps.streams.information, "refused, yet it started: " + str(ps.streams.information[0])
    return str(err)


# -- A. a remote session writes only under the output roots -------------------------------------

def test_paths_outside_the_root_are_refused_and_nothing_is_written(served, tmp_path):
    lt, root, tmp = served
    outside = tmp_path / "etc-like"
    outside.mkdir()
    (outside / "passwd").write_text("root:x:0:0\n")
    before_outside, before_root = tree(outside), tree(root)
    home_before = set(os.listdir(Path.home()))
    for path in (str(outside), str(outside / "new" / "deeper"), "../../x", "..", "~", "~/x", "/",
                 str(root) + "/../escape", "\\\\fs01\\logs"):
        ps, _ = collect(lt.port, OutputPath=path)
        message = refused(ps, "UnauthorizedOutputPath")
        assert str(root) in message, message  # names where the session may write
        assert "Traceback" not in message
    assert tree(outside) == before_outside and tree(root) == before_root
    assert not (tmp / "x").exists() and not (tmp / "escape").exists() and not (tmp / "state" / "escape").exists()
    assert set(os.listdir(Path.home())) == home_before


def test_a_symlink_inside_the_root_pointing_outside_is_refused(served, tmp_path):
    lt, root, _ = served
    outside = tmp_path / "target"
    outside.mkdir()
    root.mkdir(parents=True, exist_ok=True)
    link = root / "link-out"
    link.symlink_to(outside, target_is_directory=True)
    try:
        for path in (str(link), str(link / "sub"), "link-out", "link-out/sub/../x"):
            ps, _ = collect(lt.port, OutputPath=path)
            refused(ps, "UnauthorizedOutputPath")
        assert tree(outside) == set()
    finally:
        link.unlink()


def test_a_nul_byte_or_an_over_long_name_is_an_invalid_path_not_an_internal_error(served):
    lt, root, _ = served
    before = tree(root)
    for path in ("logs\0evil", "a" * 256, "ok/" + "b" * 300 + "/c"):
        ps, _ = collect(lt.port, OutputPath=path)
        message = refused(ps, "InvalidOutputPath", category=INVALID_ARGUMENT)
        assert "InternalError" not in message and "embedded null" not in message
    assert tree(root) == before


def test_inside_the_root_the_bundle_lands_there(served):
    lt, root, _ = served
    for path, where in ((str(root / "abs"), root / "abs"), ("rel/logs", root / "rel" / "logs"),
                        ("C:\\AzureStackLogs", root / "C" / "AzureStackLogs"),
                        ("D:\\Logs\\x", root / "D" / "Logs" / "x")):
        ps, _ = collect(lt.port, OutputPath=path)
        assert ps.state == PSInvocationState.COMPLETED and not ps.had_errors, [str(e) for e in ps.streams.error]
        (bundle,) = bundles(where)
        manifest = json.loads((bundle / "manifest.json").read_text())
        assert manifest["status"] == "complete" and list(bundle.glob("ECE_*.zip"))
        assert any(f"Logs are in {where}" in str(i) for i in ps.streams.information)
    assert not Path("C:\\AzureStackLogs").exists()  # no folder literally named so in the working directory


def test_no_destination_collects_to_the_default_root(served):
    lt, root, _ = served
    before = set(bundles(root))
    ps, _ = collect(lt.port)
    assert ps.state == PSInvocationState.COMPLETED and not ps.had_errors
    assert len(set(bundles(root)) - before) == 1


def test_every_cmdlet_that_writes_locally_is_held_to_the_roots(served, tmp_path):
    lt, root, _ = served
    outside = tmp_path / "out"
    ps, _ = call(lt.port, "Get-ClusterLog", Node=["azs-node01"], Destination=str(outside))
    refused(ps, "UnauthorizedOutputPath", "Get-ClusterLog")
    ps, _ = call(lt.port, "Invoke-AzureStackOnDemandLog", OutputPath=str(outside))
    refused(ps, "UnauthorizedOutputPath", "Invoke-AzureStackOnDemandLog")
    # the download target of -InputSasUri is checked before the SAS is even looked at
    sas = "https://acct.blob.core.windows.net/logs?sv=2021-08-06&sr=c&sp=rl&se=2099-01-01T00:00:00Z&sig=abc"
    ps, _ = collect(lt.port, InputSasUri=sas, OutputPath=str(outside))
    refused(ps, "UnauthorizedOutputPath")
    assert not outside.exists()
    # inside the root they work; Get-ClusterLog's default folder is under the first root
    ps, out = call(lt.port, "Get-ClusterLog", Node=["azs-node01"])
    assert not ps.had_errors and (root / "ClusterLogs" / "azs-node01_cluster.log").is_file()
    ps, _ = call(lt.port, "Get-ClusterLog", Node=["azs-node01"], Destination="C:\\ClusterLogs")
    assert not ps.had_errors and (root / "C" / "ClusterLogs" / "azs-node01_cluster.log").is_file()


def test_configured_output_roots_are_honoured(stamp, tmp_path):
    mine, other = tmp_path / "exports" / "pep", tmp_path / "second"
    cfg = {"collection": {"output_roots": [str(mine), str(other)]}}
    lt = listen(tmp_path, stamp, cfg)
    try:
        ps, _ = collect(lt.port, OutputPath=str(other / "a"))
        assert not ps.had_errors and len(bundles(other / "a")) == 1
        ps, _ = collect(lt.port, OutputPath="rel")  # relative: inside the first root
        assert not ps.had_errors and len(bundles(mine / "rel")) == 1
        ps, _ = collect(lt.port)  # no destination: the first root
        assert not ps.had_errors and len(bundles(mine)) == 1
        # the state directory's folder is no root any more
        ps, _ = collect(lt.port, OutputPath=str(tmp_path / "state" / "AzureStackLogs"))
        message = refused(ps, "UnauthorizedOutputPath")
        assert str(mine) in message and str(other) in message
        assert not (tmp_path / "state" / "AzureStackLogs").exists()
    finally:
        lt.stop()


def test_a_default_folder_outside_the_roots_is_refused_at_use(stamp, tmp_path):
    cfg = {"collection": {"default_output_path": str(tmp_path / "elsewhere")}}
    lt = listen(tmp_path, stamp, cfg)
    try:
        ps, _ = collect(lt.port)
        message = refused(ps, "UnauthorizedOutputPath")
        assert "collection.default_output_path" in message
        assert not (tmp_path / "elsewhere").exists()
    finally:
        lt.stop()


def pep(*args: str, state: Path, stamp: Path, config: dict | None = None, cwd: Path | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "pep", "--stamp", str(stamp), "--state-dir", str(state)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PEP_CONFIG", None)
    if config is not None:
        cfg = state.parent / f"config-{len(list(state.parent.glob('config-*')))}.json"
        cfg.write_text(json.dumps(config))
        argv += ["--config", str(cfg)]
    return subprocess.run(argv + list(args), capture_output=True, text=True, env=env, cwd=cwd or ROOT,
                          timeout=timeout)


def test_pep_serve_itself_refuses_a_path_outside_the_root(stamp, tmp_path):
    """The real `pep serve` command line wires the roots in, not only ListenerThread."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PEP_ADMIN_PASSWORD": PASSWORD}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pep", "--stamp", str(stamp), "--state-dir", str(tmp_path / "state"),
         "serve", "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        port = int(re.search(r"http://127\.0\.0\.1:(\d+)/wsman", proc.stdout.readline()).group(1))
        ps, _ = collect(port, OutputPath=str(tmp_path / "etc"))
        refused(ps, "UnauthorizedOutputPath")
        assert not (tmp_path / "etc").exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)


def test_the_local_console_still_writes_anywhere_its_user_can(stamp, tmp_path):
    outside = tmp_path / "anywhere" / "logs"
    r = pep("-c", f"Get-AzureStackLog -FilterByRole ECE -FromDate {FROM} -ToDate {TO} -OutputPath {outside}",
            state=tmp_path / "state", stamp=stamp)
    assert r.returncode == 0, r.stdout + r.stderr
    (bundle,) = bundles(outside)
    assert json.loads((bundle / "manifest.json").read_text())["status"] == "complete"
    # a NUL byte is a proper error record on the console too, before any work
    r = pep("-c", 'Get-AzureStackLog -FilterByRole ECE -OutputPath "x`0y"', state=tmp_path / "state", stamp=stamp)
    assert r.returncode == 1
    assert "InvalidOutputPath,Get-AzureStackLog" in r.stdout + r.stderr and "InternalError" not in r.stdout + r.stderr


# -- B. a partial bundle says it is partial ------------------------------------------------------

SLOW = {"faults": {"slow_hosts": {"azs-xrp01": 0.15, "azs-xrp02": 0.15, "azs-xrp03": 0.15}},
        "collection": {"concurrency": 2}}


def test_a_killed_collection_is_marked_running_then_incomplete(stamp, tmp_path):
    state, out = tmp_path / "state", tmp_path / "out"
    command = f"Get-AzureStackLog -FromDate 2026-11-24T16:00:00Z -ToDate {TO} -OutputPath {out}"
    cfg = tmp_path / "slow.json"
    cfg.write_text(json.dumps(SLOW))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-m", "pep", "--stamp", str(stamp), "--state-dir", str(state),
                              "--config", str(cfg), "-c", command],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and child.poll() is None:
            if any(out.rglob("*.zip")):
                break
            time.sleep(0.02)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    (bundle,) = bundles(out)
    assert list(bundle.glob("*.zip")), "the killed run delivered no zip"
    assert not (bundle / "Get-AzureStackLog_Output.log").exists()
    marker = json.loads((bundle / "manifest.json").read_text())
    assert marker["status"] == "running" and marker["bundle"] == bundle.name
    assert marker["owner"]["pid"] == child.pid

    # Another collection into the same folder: it warns about the orphan and marks it incomplete.
    r = pep("-c", f"Get-AzureStackLog -FilterByRole ECE -FromDate {FROM} -ToDate {TO} -OutputPath {out}",
            state=state, stamp=stamp)
    assert r.returncode == 0, r.stdout + r.stderr
    warnings = [line for line in r.stdout.splitlines() if line.startswith("WARNING:")]
    assert any(bundle.name in w and "incomplete" in w for w in warnings), r.stdout
    marked = json.loads((bundle / "manifest.json").read_text())
    assert marked["status"] == "incomplete" and "interrupted" in marked
    assert {k: v for k, v in marked.items() if k not in ("status", "interrupted")} == \
        {k: v for k, v in marker.items() if k != "status"}
    other = [b for b in bundles(out) if b != bundle]
    assert len(other) == 1 and json.loads((other[0] / "manifest.json").read_text())["status"] == "complete"
    # said once: a third collection has nothing more to say about it
    r = pep("-c", f"Get-AzureStackLog -FilterByRole ECE -FromDate {FROM} -ToDate {TO} -OutputPath {out}",
            state=state, stamp=stamp)
    assert r.returncode == 0 and bundle.name not in r.stdout

    # The same command again resumes the incomplete bundle and completes it.
    r = pep("-c", command, state=state, stamp=stamp, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    final = json.loads((bundle / "manifest.json").read_text())
    assert final["status"] == "complete" and final["resumed"] is True
    assert (bundle / "Get-AzureStackLog_Output.log").is_file()
