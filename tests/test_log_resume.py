"""Resume, through the runspace as an operator sees it: a stopped Get-AzureStackLog (to a folder) and
a stopped Send-AzureStackDiagnosticLog (to the support container) each continue when the same command
is run again, and neither builds nor sends again a zip the first run finished. Also: a stopped run
says little (the summary and at most a few WARNING lines), and what makes "the same command"."""
from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timezone

import pytest
from enginehelp import small_stamp
from test_log_destinations import Tee, blob_files, check_bundle, env_for, journal_bundle, only_bundle

from collector.destination import AsTyped, Destination, resume_key

ROLES = "VirtualMachines,BareMetal,Storage,CA,ECE"


@pytest.fixture(scope="module")
def stamp(tmp_path_factory):
    return small_stamp(tmp_path_factory.mktemp("stamp") / "s", days=0.5, mb_per_hour=0.3,
                       end=datetime.now(timezone.utc))


def invoke_until(env, text: str, ready) -> tuple[object, Tee]:
    """Run `text`, pressing Ctrl+C once ready() is true."""
    from session.runspace import Runspace

    stop = threading.Event()

    def watch() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not stop.is_set():
            if ready():
                stop.set()
            time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    tee, rs = Tee(), Runspace(env)
    try:
        r = rs.invoke(text, tee, stop_event=stop)
    finally:
        stop.set()
        watcher.join()
        rs.close()
    return r, tee


def invoke(env, text: str) -> tuple[object, Tee]:
    from session.runspace import Runspace

    tee, rs = Tee(), Runspace(env)
    try:
        return rs.invoke(text, tee), tee
    finally:
        rs.close()


def assert_stopped_output_is_short(t: Tee) -> None:
    warnings = t.records.warnings
    assert len(warnings) <= 3, warnings
    assert any("Log collection stopped: collected" in str(i) for i in t.records.informations)


def test_a_stopped_get_azurestacklog_resumes_without_redoing_finished_zips(stamp, tmp_path):
    out = tmp_path / "out"
    slow = {"faults": {"slow_hosts": {h: 0.05 for h in ("azs-xrp01", "azs-xrp02", "azs-xrp03")}},
            "collection": {"concurrency": 2, "zip_split_mb": 0.05}}
    env = env_for(stamp, tmp_path, slow)
    text = f"Get-AzureStackLog -OutputPath {out} -FilterByRole {ROLES}"

    def some_zips_delivered() -> bool:
        return out.exists() and len(list(out.glob("AzureStackLogs-*/*.zip"))) >= 2

    r, t = invoke_until(env, text, some_zips_delivered)
    assert r.state == "Stopped"
    assert_stopped_output_is_short(t)
    b = only_bundle(out)
    assert json.loads((b / "manifest.json").read_text())["status"] == "stopped"
    first = {z.name: (z.stat().st_ino, z.stat().st_mtime_ns) for z in b.glob("*.zip")}
    assert len(first) >= 2

    env = env_for(stamp, tmp_path, {"collection": {"zip_split_mb": 0.05}})
    r, t = invoke(env, text.replace(ROLES, ROLES.lower()) + " -Verbose")  # the same command, typed in lower case
    assert r.state == "Completed" and not t.records.errors, t.text
    assert any("Resuming the collection" in str(i) for i in t.records.informations)
    assert only_bundle(out) == b
    m = check_bundle({p.name: p.read_bytes() for p in b.iterdir() if p.is_file()}, set(ROLES.split(",")))
    assert m["resumed"] is True
    for name, (ino, mt) in first.items():  # finished zips were neither rebuilt nor copied again
        assert ((b / name).stat().st_ino, (b / name).stat().st_mtime_ns) == (ino, mt)
    delivered = {v.split()[1] for v in t.records.verboses if v.startswith("Delivered ")}
    assert delivered and not delivered & set(first)


def test_a_stopped_send_azurestackdiagnosticlog_resumes_without_resending_finished_zips(stamp, tmp_path, azurite):
    sas = azurite.make_container_sas("supportresume", permissions="rwl")
    cc = azurite.container("supportresume")
    cfg = {"support": {"sas_url": sas}, "upload": {"block_size_mb": 1 / 64, "bandwidth_mbps": 1, "concurrency": 1},
           "collection": {"concurrency": 2}}
    env = env_for(stamp, tmp_path, cfg)
    text = f"Send-AzureStackDiagnosticLog -FilterByRole {ROLES}"

    def a_zip_committed() -> bool:
        return any(b.name.endswith(".zip") for b in cc.list_blobs())

    r, t = invoke_until(env, text, a_zip_committed)
    assert r.state == "Stopped"
    assert_stopped_output_is_short(t)
    bundle = journal_bundle(env)
    before = {b.name: b.etag for b in cc.list_blobs() if b.name.endswith(".zip")}
    assert before
    assert json.loads(cc.download_blob(f"{bundle}/manifest.json").readall())["status"] == "stopped"

    r, t = invoke(env, text + " -Verbose")
    assert r.state == "Completed" and not t.records.errors, t.text
    files = blob_files(azurite, "supportresume")
    assert list(files) == [bundle]
    m = check_bundle(files[bundle], set(ROLES.split(",")))
    assert m["resumed"] is True
    after = {b.name: b.etag for b in cc.list_blobs()}
    for name, etag in before.items():  # committed zips were not sent again
        assert after[name] == etag
    delivered = {v.split()[1] for v in t.records.verboses if v.startswith("Delivered ")}
    assert not delivered & {n.split("/", 1)[1] for n in before}


def test_the_resume_key_is_the_command_as_meant():
    folder = Destination.folder("/logs")
    key = resume_key("Get-AzureStackLog", "azs", AsTyped(roles=["CA", "ECE"]), folder)
    assert key == resume_key("Get-AzureStackLog", "azs", AsTyped(roles=["ece", "CA", "ca"]), folder)
    assert key != resume_key("Send-AzureStackDiagnosticLog", "azs", AsTyped(roles=["CA", "ECE"]), folder)
    assert key != resume_key("Get-AzureStackLog", "azs", AsTyped(roles=["CA"]), folder)
    assert key != resume_key("Get-AzureStackLog", "azs", AsTyped(roles=["CA", "ECE"], from_date="11/25/2026 08:00"),
                             folder)
    assert key != resume_key("Get-AzureStackLog", "azs", AsTyped(roles=["CA", "ECE"]), Destination.folder("/other"))
    # a container by its whole SAS URL (a new signature starts afresh), and never the URL itself
    a = Destination.container("https://a.blob/c?sv=1&sig=AAA")
    b = Destination.container("https://a.blob/c?sv=1&sig=BBB")
    assert resume_key("X", "azs", AsTyped(), a) != resume_key("X", "azs", AsTyped(), b)
    assert "AAA" not in json.dumps(a.identity())
    # a share by path and user; the password is no part of it
    s1 = Destination.share(r"\\h\s\f", ("ops", "pw1"))
    s2 = Destination.share(r"\\h\s\f", ("ops", "pw2"))
    assert resume_key("X", "azs", AsTyped(), s1) == resume_key("X", "azs", AsTyped(), s2)
    assert "pw1" not in json.dumps(s1.identity())

