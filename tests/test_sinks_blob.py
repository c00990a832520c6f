"""BlobSink and download_window against a real Azurite (tests/servers.py)."""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from collector.errors import CollectionStopped, DestinationError
from collector.sas import parse_sas_url
from collector.sinks.blob import BlobSink, download_window, time_in_name
from session.environment import Environment

ROOT = Path(__file__).resolve().parent.parent
BLOCK = 256 * 1024


@pytest.fixture
def env(tmp_path):
    return Environment(state_dir=tmp_path / "state", config={"upload": {"block_size_mb": BLOCK / 2**20}})


@pytest.fixture
def payload(tmp_path):
    p = tmp_path / "ECE-1.zip"
    p.write_bytes(os.urandom(10 * BLOCK + 1000))  # 11 blocks, the last one short
    return p


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def _blob_bytes(azurite, container, name) -> bytes:
    return azurite.container(container).download_blob(name).readall()


def _names(azurite, container) -> list[str]:
    return [b.name for b in azurite.container(container).list_blobs()]


def _uncommitted(azurite, container, name) -> int:
    from azure.core.exceptions import ResourceNotFoundError

    try:
        return len(azurite.container(container).get_blob_client(name).get_block_list("uncommitted")[1])
    except ResourceNotFoundError:
        return 0


def test_preflight_leaves_nothing_visible_and_deliver_commits(azurite, env, payload):
    url = azurite.make_container_sas("deliver1", permissions="rwl")
    sink = BlobSink(url, env)
    assert "sig=" not in sink.description
    sink.preflight()
    assert _names(azurite, "deliver1") == []
    where = sink.open_bundle("AzureStackLogs-20261125080000-AZS-ERCS01")
    assert where.endswith("/deliver1/AzureStackLogs-20261125080000-AZS-ERCS01") and "sig" not in where
    size = payload.stat().st_size
    assert not sink.has("ECE/ECE-1.zip", size)
    sent = []
    sink.deliver(payload, "ECE/ECE-1.zip", progress=sent.append)
    assert sum(sent) == size
    assert sink.last_stats["blocks_sent"] == 11
    name = "AzureStackLogs-20261125080000-AZS-ERCS01/ECE/ECE-1.zip"
    assert _names(azurite, "deliver1") == [name]
    assert _sha(_blob_bytes(azurite, "deliver1", name)) == _sha(payload.read_bytes())
    assert sink.has("ECE/ECE-1.zip", size) and not sink.has("ECE/ECE-1.zip", size - 1)
    assert list((env.state.path / "uploads").iterdir()) == []  # journal gone once committed
    sink.close()


def test_empty_file_is_delivered(azurite, env, tmp_path):
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    sink = BlobSink(azurite.make_container_sas("empty1"), env)
    sink.open_bundle("B")
    sink.deliver(empty, "empty.log")
    assert sink.has("empty.log", 0)
    sink.close()


def test_stopped_upload_is_invisible_and_resumes_without_resending(azurite, env, payload):
    url = azurite.make_container_sas("resume1")
    sink = BlobSink(url, env, concurrency=1)
    sink.open_bundle("B")
    stop = threading.Event()
    count = []

    def progress(n):
        count.append(n)
        if len(count) == 4:
            stop.set()

    with pytest.raises(CollectionStopped):
        sink.deliver(payload, "R/ECE-1.zip", progress=progress, stop=stop)
    assert _names(azurite, "resume1") == []  # staged blocks are not a blob
    assert not sink.has("R/ECE-1.zip", payload.stat().st_size)
    staged = _uncommitted(azurite, "resume1", "B/R/ECE-1.zip")
    assert staged == 4
    sink.close()

    # "Drop the process state": a brand-new sink on the same state directory.
    again = BlobSink(url, Environment(state_dir=env.state.path, config=env.config))
    again.open_bundle("B")
    sent = []
    again.deliver(payload, "R/ECE-1.zip", progress=sent.append)
    assert again.last_stats["blocks_skipped"] == staged
    assert again.last_stats["blocks_sent"] == 11 - staged
    assert sum(sent) == payload.stat().st_size  # skipped bytes are reported as done
    assert _sha(_blob_bytes(azurite, "resume1", "B/R/ECE-1.zip")) == _sha(payload.read_bytes())
    again.close()


def test_changed_local_file_does_not_reuse_stale_blocks(azurite, env, payload):
    url = azurite.make_container_sas("resume2")
    sink = BlobSink(url, env, concurrency=1)
    sink.open_bundle("B")
    stop = threading.Event()
    with pytest.raises(CollectionStopped):
        sink.deliver(payload, "x.zip", progress=lambda n: stop.set(), stop=stop)
    payload.write_bytes(os.urandom(payload.stat().st_size))  # rebuilt: same name and size, new bytes
    os.utime(payload, ns=(time.time_ns(), time.time_ns() + 10**9))
    sink.deliver(payload, "x.zip")
    assert sink.last_stats["blocks_skipped"] == 0
    assert _sha(_blob_bytes(azurite, "resume2", "B/x.zip")) == _sha(payload.read_bytes())
    sink.close()


def test_kill_9_mid_upload_then_resume(azurite, env, payload, tmp_path):
    """A real crash: a child process uploads under a bandwidth cap and is killed with SIGKILL."""
    url = azurite.make_container_sas("kill9")
    script = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {str(ROOT)!r})
        from pathlib import Path
        from session.environment import Environment
        from collector.sinks.blob import BlobSink
        env = Environment(state_dir={str(env.state.path)!r}, config={env.config!r})
        sink = BlobSink({url!r}, env, concurrency=1, bandwidth_mbps=8)  # ~1 MB/s: 4 blocks a second
        sink.open_bundle("B")
        sink.deliver(Path({str(payload)!r}), "K/ECE-1.zip")
        print("finished")
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while _uncommitted(azurite, "kill9", "B/K/ECE-1.zip") < 3:
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(10)
    assert child.returncode == -signal.SIGKILL
    assert _names(azurite, "kill9") == []
    staged = _uncommitted(azurite, "kill9", "B/K/ECE-1.zip")
    assert 3 <= staged < 11

    sink = BlobSink(url, Environment(state_dir=env.state.path, config=env.config))
    sink.open_bundle("B")
    assert not sink.has("K/ECE-1.zip", payload.stat().st_size)
    sink.deliver(payload, "K/ECE-1.zip")
    assert sink.last_stats["blocks_sent"] == 11 - staged
    assert _sha(_blob_bytes(azurite, "kill9", "B/K/ECE-1.zip")) == _sha(payload.read_bytes())
    sink.close()


def test_bandwidth_cap_from_configuration(azurite, tmp_path, payload):
    env = Environment(state_dir=tmp_path / "s", config={"upload": {"block_size_mb": 0.25, "bandwidth_mbps": 16}})
    sink = BlobSink(azurite.make_container_sas("bw1"), env)
    sink.open_bundle("B")
    t = time.monotonic()
    sink.deliver(payload, "x.zip")  # 2.6 MB at 2 MB/s: the first block leaves at once
    elapsed = time.monotonic() - t
    assert elapsed >= 1.0, elapsed
    sink.close()


# --- pre-flight refusals -----------------------------------------------------------------

def _refusal(url, env):
    sink = BlobSink(url, env)
    with pytest.raises(DestinationError) as ei:
        sink.preflight()
    sink.close()
    sig = parse_sas_url(url).query.get("sig") if "sig=" in url else None
    if sig:
        assert sig not in ei.value.message and sig not in str(ei.value)
        assert sig not in sink.description
    return ei.value


def test_expired_sas_refused(azurite, env):
    e = _refusal(azurite.make_container_sas("pf1", expiry=timedelta(minutes=-1)), env)
    assert (e.error_id, e.category) == ("SasUriExpired", "InvalidArgument")
    assert "expired" in e.message


def test_tampered_sas_refused_by_the_server(azurite, env):
    url = azurite.make_container_sas("pf2")
    sig = parse_sas_url(url).query["sig"]
    tampered = url.replace("sig=", "sig=AAAA")
    e = _refusal(tampered, env)
    assert (e.error_id, e.category) == ("SasUriAuthenticationFailed", "AuthenticationError")
    assert sig not in e.message


def test_read_only_sas_refused(azurite, env):
    e = _refusal(azurite.make_container_sas("pf3", permissions="rl"), env)
    assert (e.error_id, e.category) == ("SasUriPermissionDenied", "PermissionDenied")
    assert "Write" in e.message


def test_server_side_permission_mismatch_is_mapped(azurite, env, tmp_path):
    # Bypass the offline check to see what the server says to a read-only SAS.
    sink = BlobSink(azurite.make_container_sas("pf4", permissions="rl"), env)
    sink.open_bundle("B")
    f = tmp_path / "f.bin"
    f.write_bytes(b"x" * 10)
    with pytest.raises(DestinationError) as ei:
        sink.deliver(f, "f.bin")
    assert ei.value.error_id == "SasUriPermissionDenied"
    sink.close()


def test_unsigned_wrong_resource_and_missing_container(azurite, env):
    url = azurite.make_container_sas("pf5")
    unsigned = "&".join(p for p in url.split("&") if not p.startswith("sig="))
    assert _refusal(unsigned, env).error_id == "InvalidSasUri"
    assert _refusal(url.replace("sr=c", "sr=b"), env).error_id == "InvalidSasUri"
    assert _refusal("not a url", env).error_id == "InvalidSasUri"
    e = _refusal(azurite.make_container_sas("nosuchcontainer", create=False), env)
    assert e.error_id == "ContainerNotFound"


def test_unreachable_endpoint(env):
    from servers import free_port

    e = _refusal(f"http://127.0.0.1:{free_port()}/devstoreaccount1/logs?sp=rwl&sr=c&sig=c2VjcmV0", env)
    assert (e.error_id, e.category) == ("DestinationUnreachable", "ConnectionError")
    assert "c2VjcmV0" not in e.message


# --- -InputSasUri --------------------------------------------------------------------------

def test_time_in_name():
    assert time_in_name("k8s/2026-11-25T08-30-00/kubelet.log") == datetime(2026, 11, 25, 8, 30, tzinfo=timezone.utc)
    assert time_in_name("aks_20261125083000.zip") == datetime(2026, 11, 25, 8, 30, tzinfo=timezone.utc)
    assert time_in_name("plain/kubelet.log") is None


def test_blob_names_cannot_escape_the_output_folder(tmp_path):
    from collector.sinks.blob import _safe_local_path

    assert _safe_local_path(tmp_path, "../x") is None
    assert _safe_local_path(tmp_path, "a/../../x") is None
    assert _safe_local_path(tmp_path, "/a//b\\c") == tmp_path / "a" / "b" / "c"


def test_download_window(azurite, tmp_path):
    url = azurite.make_container_sas("input1")
    cc = azurite.container("input1")
    now = datetime.now(timezone.utc).replace(microsecond=0)
    inside = (now - timedelta(hours=1)).strftime("%Y%m%d%H%M%S")
    outside = (now - timedelta(days=3)).strftime("%Y%m%d%H%M%S")
    cc.upload_blob(f"aks/node1_{inside}.zip", b"a" * 5000)
    cc.upload_blob(f"aks/node1_{outside}.zip", b"b" * 10)
    cc.upload_blob("aks/undated.log", b"c" * 20)  # last-modified is now: inside the window
    dest = tmp_path / "in"
    got = []
    files = download_window(url, now - timedelta(hours=2), now + timedelta(minutes=5), dest, progress=got.append)
    rel = sorted(p.relative_to(dest).as_posix() for p in files)
    assert rel == sorted([f"aks/node1_{inside}.zip", "aks/undated.log"])
    assert (dest / f"aks/node1_{inside}.zip").read_bytes() == b"a" * 5000
    assert sum(got) == 5020
    assert not list(dest.rglob("*.partial"))
    # Running again keeps what is already there.
    assert len(download_window(url, now - timedelta(hours=2), now + timedelta(minutes=5), dest)) == 2


def test_download_window_needs_read_and_list(azurite, tmp_path):
    with pytest.raises(DestinationError) as ei:
        download_window(azurite.make_container_sas("input2", permissions="w"),
                        datetime(2020, 1, 1, tzinfo=timezone.utc), datetime.now(timezone.utc), tmp_path)
    assert ei.value.error_id == "SasUriPermissionDenied"
