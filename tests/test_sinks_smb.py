"""SmbSink against a real smbd on a loopback port (tests/servers.py)."""
from __future__ import annotations

import hashlib
import os
import threading

import pytest
from psrpcore.types import PSCredential, PSSecureString

from collector.errors import CollectionStopped, DestinationError
from collector.sinks.smb import SmbSink, parse_unc
from session.environment import Environment


@pytest.fixture
def env(tmp_path):
    return Environment(state_dir=tmp_path / "state", config={"smb": {"chunk_size_mb": 0.25}})


@pytest.fixture
def payload(tmp_path):
    p = tmp_path / "ECE-1.zip"
    p.write_bytes(os.urandom(3 * 1024 * 1024 + 123))
    return p


def _sha(p):
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_parse_unc_forms():
    u = parse_unc(r"\\10.0.0.5\share\logs\pep")
    assert (u.host, u.port, u.share, u.folder) == ("10.0.0.5", 445, "share", r"logs\pep")
    u = parse_unc("//127.0.0.1@4455/share")
    assert (u.host, u.port, u.share, u.folder) == ("127.0.0.1", 4455, "share", "")
    assert u.display("a") == r"\\127.0.0.1@4455\share\a"
    assert parse_unc(r"\\srv\share", default_port=4455).port == 4455
    for bad in ["C:\\logs", r"\\srv", r"\\srv\share\..\x", ""]:
        with pytest.raises(DestinationError) as ei:
            parse_unc(bad)
        assert ei.value.error_id == "InvalidSharePath"


def test_deliver_with_pscredential_visible_only_when_whole(samba, env, payload):
    cred = PSCredential(samba.user, PSSecureString(samba.password))
    sink = SmbSink(samba.unc("out", "run1"), cred, env)
    try:
        sink.preflight()
        assert not any(n.startswith(".azs-pep-preflight") for n in os.listdir(samba.path / "out" / "run1"))
        where = sink.open_bundle("AzureStackLogs-20261125080000-AZS-ERCS01")
        assert where == samba.unc("out", "run1", "AzureStackLogs-20261125080000-AZS-ERCS01")
        size = payload.stat().st_size
        assert not sink.has("ECE/ECE-1.zip", size)
        sent = []
        sink.deliver(payload, "ECE/ECE-1.zip", progress=sent.append)
        assert sum(sent) == size
        local = samba.path / "out" / "run1" / "AzureStackLogs-20261125080000-AZS-ERCS01" / "ECE" / "ECE-1.zip"
        assert _sha(local) == _sha(payload)
        assert sink.has("ECE/ECE-1.zip", size)
        assert not sink.has("ECE/ECE-1.zip", size + 1)
        assert not local.with_name("ECE-1.zip.partial").exists()
    finally:
        sink.close()


def test_interrupted_copy_leaves_only_partial_and_resumes(samba, env, payload):
    sink = SmbSink(samba.unc("resume"), (samba.user, samba.password), env)
    sink.preflight()
    sink.open_bundle("B1")
    stop = threading.Event()
    seen = []

    def progress(n):
        seen.append(n)
        if len(seen) == 6:  # stop after 1.5 MiB of 3 MiB
            stop.set()

    with pytest.raises(CollectionStopped):
        sink.deliver(payload, "R/ECE-1.zip", progress=progress, stop=stop)
    folder = samba.path / "resume" / "B1" / "R"
    assert not (folder / "ECE-1.zip").exists()  # never visible under its final name
    assert (folder / "ECE-1.zip.partial").exists()
    assert not sink.has("R/ECE-1.zip", payload.stat().st_size)
    sink.close()

    # A new sink (as after a restart) continues from the .partial instead of starting over.
    again = SmbSink(samba.unc("resume"), (samba.user, samba.password), env)
    again.open_bundle("B1")
    again.deliver(payload, "R/ECE-1.zip")
    assert again.last_stats["bytes_skipped"] > 0
    assert again.last_stats["bytes_sent"] < payload.stat().st_size
    assert _sha(folder / "ECE-1.zip") == _sha(payload)
    assert not (folder / "ECE-1.zip.partial").exists()
    again.close()


def test_changed_local_file_is_not_resumed_from_stale_partial(samba, env, payload):
    sink = SmbSink(samba.unc("stale"), (samba.user, samba.password), env)
    sink.open_bundle("B")
    stop = threading.Event()
    with pytest.raises(CollectionStopped):
        sink.deliver(payload, "x.zip", progress=lambda n: stop.set(), stop=stop)
    payload.write_bytes(os.urandom(payload.stat().st_size))  # rebuilt zip: same name, new content
    sink.deliver(payload, "x.zip")
    assert sink.last_stats["bytes_skipped"] == 0
    assert _sha(samba.path / "stale" / "B" / "x.zip") == _sha(payload)
    sink.close()


def test_wrong_password_refused_in_preflight_without_leaking_it(samba, env):
    wrong = "Wr0ng-Secret-Value"
    sink = SmbSink(samba.unc("x"), (samba.user, wrong), env)
    with pytest.raises(DestinationError) as ei:
        sink.preflight()
    assert ei.value.error_id == "ShareLogonFailure"
    assert ei.value.category == "AuthenticationError"
    assert wrong not in ei.value.message and samba.password not in ei.value.message
    assert samba.user in ei.value.message
    sink.close()
    # The right credential afterwards works: sessions are not shared between sinks.
    ok = SmbSink(samba.unc("x"), (samba.user, samba.password), env)
    ok.preflight()
    ok.close()


def test_right_then_wrong_password_does_not_reuse_the_logged_on_session(samba, env):
    ok = SmbSink(samba.unc("y"), (samba.user, samba.password), env)
    ok.preflight()
    bad = SmbSink(samba.unc("y"), (samba.user, "nope-nope"), env)
    with pytest.raises(DestinationError) as ei:
        bad.preflight()
    assert ei.value.error_id == "ShareLogonFailure"
    ok.close()
    bad.close()


def test_bad_share_and_unreachable_server(samba, env):
    sink = SmbSink(f"\\\\{samba.host}@{samba.port}\\noshare\\x", (samba.user, samba.password), env)
    with pytest.raises(DestinationError) as ei:
        sink.preflight()
    assert ei.value.error_id == "SharePathNotFound"
    assert "noshare" in ei.value.message
    sink.close()

    from servers import free_port

    dead = SmbSink(f"\\\\127.0.0.1@{free_port()}\\share", (samba.user, samba.password), env)
    with pytest.raises(DestinationError) as ei:
        dead.preflight()
    assert ei.value.error_id == "DestinationUnreachable"
    dead.close()


def test_smb_port_from_configuration(samba, tmp_path):
    env = Environment(state_dir=tmp_path / "s", config={"smb": {"port": samba.port}})
    sink = SmbSink(f"\\\\{samba.host}\\{samba.share}\\cfg", (samba.user, samba.password), env)
    sink.preflight()
    assert sink.description == f"\\\\{samba.host}@{samba.port}\\{samba.share}\\cfg"
    sink.close()
