"""kill -9 of the whole `pep serve --portal` (the real process, started as a user would) during an
automatic upload to the real Azurite, then a restart: the collection resumes, no finished block is
sent again, history shows one row for it that ends complete, nothing is uploaded twice and the
container holds the complete bundle.

Every request the service makes to Azurite goes through a counting proxy in this test process (the
SAS signature does not cover the host, so a SAS URL that names the proxy's port is valid), so the
test counts the blocks and bytes Azurite really accepted, across the kill."""
from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from enginehelp import small_stamp

PASSWORD = "Azs-Test-P@ss1"
AUTH = ("AZURESTACK\\CloudAdmin", PASSWORD)
ROOT = Path(__file__).resolve().parents[1]
_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


@dataclass(frozen=True)
class Seen:
    """One request Azurite answered, as the proxy saw it."""

    run: int            # which `pep serve` sent it (1: the killed one, 2: after the restart)
    method: str
    blob: str           # the blob name inside the container ("" for container requests)
    comp: str
    block_id: str
    body_bytes: int
    status: int


class CountingProxy:
    """A plain HTTP proxy in front of Azurite that records every answered request."""

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.seen: list[Seen] = []
        self.run = 1
        self._lock = threading.Lock()
        # freeze_when(seen, blob, comp), asked before each request is forwarded: once it says yes, that
        # request and every later one are held (never forwarded) until `released`, so the state
        # Azurite has when the test kills the service is exactly what `seen` says
        self.freeze_when: Callable[[list[Seen], str, str], bool] | None = None
        self.frozen = threading.Event()
        self.released = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                path = parts.path.split("/", 3)   # "", account, container, blob
                blob, comp = (path[3] if len(path) > 3 else ""), (query.get("comp") or [""])[0]
                with proxy._lock:
                    if (not proxy.frozen.is_set() and proxy.freeze_when is not None
                            and proxy.freeze_when(proxy.seen, blob, comp)):
                        proxy.frozen.set()
                    hold = proxy.frozen.is_set()
                if hold:
                    proxy.released.wait(300)
                    self.close_connection = True
                    return   # no answer: its sender is dead by now
                conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=60)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                    conn.request(self.command, self.path, body=body or None, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                finally:
                    conn.close()
                with proxy._lock:
                    proxy.seen.append(Seen(proxy.run, self.command, blob, comp, (query.get("blockid") or [""])[0],
                                           len(body), resp.status))
                self.send_response(resp.status, resp.reason)
                for k, v in resp.getheaders():
                    if k.lower() not in _HOP and k.lower() != "content-length":
                        self.send_header(k, v)
                if self.command == "HEAD":
                    self.send_header("Content-Length", resp.getheader("Content-Length") or "0")
                    self.end_headers()
                    return
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client was killed meanwhile
                    self.close_connection = True

            do_GET = do_PUT = do_HEAD = do_POST = do_DELETE = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, name="counting-proxy", daemon=True).start()

    def records(self) -> list[Seen]:
        with self._lock:
            return list(self.seen)

    def thaw(self, run: int) -> None:
        """Forward again (the held requests are dropped); what follows counts as `run`."""
        with self._lock:
            self.freeze_when, self.run = None, run
            self.frozen.clear()
        self.released.set()

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


def staged_zip_blocks(seen: list[Seen], run: int | None = None) -> list[Seen]:
    return [s for s in seen if s.comp == "block" and s.status == 201 and s.blob.endswith(".zip")
            and (run is None or s.run == run)]


def committed_zips(seen: list[Seen]) -> set[str]:
    return {s.blob for s in seen if s.comp == "blocklist" and s.status == 201 and s.blob.endswith(".zip")}


def half_sent(seen: list[Seen]) -> set[str]:
    """Zips with blocks staged but no block list committed yet."""
    return {s.blob for s in staged_zip_blocks(seen)} - committed_zips(seen)


def start_serve(tmp_path: Path, stamp: Path, config: Path, log: Path) -> tuple[subprocess.Popen, str]:
    """`pep serve --portal` as a user starts it; returns the process and the service's URL."""
    out = open(log, "a", encoding="utf-8")  # noqa: SIM115 - the child writes it until it dies
    proc = subprocess.Popen(
        [sys.executable, "-m", "pep", "serve", "--stamp", str(stamp), "--state-dir", str(tmp_path / "state"),
         "--config", str(config), "--listen", "127.0.0.1:0", "--portal", "127.0.0.1:0",
         "--admin-password-file", str(tmp_path / "admin-password")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=out, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    out.close()
    lines = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        m = re.match(r"Help \+ Support on (http://127\.0\.0\.1:\d+/)", line)
        if m:
            return proc, m.group(1)
    proc.kill()
    raise AssertionError("pep serve did not print its Help + Support address: " + "".join(lines))


def pep(tmp_path: Path, stamp: Path, config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pep", "--stamp", str(stamp), "--state-dir", str(tmp_path / "state"),
                           "--config", str(config), *args], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def wait_for(what: str, check, timeout: float = 120, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def test_kill_9_of_pep_serve_mid_upload_then_a_restart_resumes_into_one_complete_row(tmp_path, azurite):
    now = datetime.now(timezone.utc)
    stamp = small_stamp(tmp_path / "stamp", end=now, days=0.1, mb_per_hour=2)
    (tmp_path / "admin-password").write_text(PASSWORD + "\n")
    config = tmp_path / "config.json"
    config.write_text(json.dumps({
        "signin": {"failure_delay_seconds": 0.2},
        "health": {"scan_seconds": 0.5},
        "automatic_collection": {"sas_min_valid_days": 0, "persistence_minutes": 0.02, "suppression_minutes": 30},
        # slow and in small blocks, so the kill lands mid-upload with zips half sent
        "upload": {"bandwidth_mbps": 2, "block_size_mb": 1 / 64, "concurrency": 2},
    }))
    proxy = CountingProxy(azurite.port)
    proxy.freeze_when = lambda seen, blob, comp: (
        comp == "block" and blob.endswith(".zip") and len(committed_zips(seen)) >= 10
        and any(s.blob == blob for s in staged_zip_blocks(seen)))
    sas = azurite.make_container_sas(permissions="rwl", expiry=timedelta(hours=2))
    container = urlsplit(sas).path.rsplit("/", 1)[1]
    sas = sas.replace(f"127.0.0.1:{azurite.port}", f"127.0.0.1:{proxy.port}")
    sig = parse_qs(urlsplit(sas).query)["sig"][0]
    log = tmp_path / "serve-stderr.log"
    proc, url = start_serve(tmp_path, stamp, config, log)
    try:
        r = requests.put(url + "api/settings/automatic-collection", json={"enabled": True, "sasUrl": sas}, auth=AUTH,
                         timeout=60)
        assert r.status_code == 200, r.text
        added = pep(tmp_path, stamp, config, "fault", "add", "update-failed")
        assert added.returncode == 0, added.stderr

        # the automatic collection starts by itself; once 10 zips are whole, the next block of a zip
        # that already has one staged is held, and the service is killed: that zip is cut in half
        assert proxy.frozen.wait(180), "the automatic upload did not get under way"
        rows = requests.get(url + "api/collections", auth=AUTH, timeout=30).json()
        (running,) = rows["rows"]
        assert running["status"] == "in progress" and running["type"] == "automatic"
        time.sleep(0.5)   # a request already at Azurite when the proxy froze is answered and counted
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
    first = proxy.records()
    killed_at = len(first)
    proxy.thaw(run=2)

    proc, url = start_serve(tmp_path, stamp, config, log)
    try:
        def finished() -> dict | None:
            page = requests.get(url + "api/collections", auth=AUTH, timeout=30).json()
            rows = [r for r in page["rows"] if r["status"] != "in progress" and not r.get("interrupted")]
            return page if rows else None
        page = wait_for("the resumed collection to end", finished, timeout=300, every=0.5)
        row = requests.get(url + f"api/collections/{running['id']}", auth=AUTH, timeout=30).json()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        proxy.close()

    # one row, the same one, complete and resumed, naming its trigger alert
    assert page["total"] == 1, page
    assert row["id"] == running["id"] and row["status"] == "complete", row
    assert row["resumed"] is True and row["type"] == "automatic" and not row["errors"] and not row["interrupted"]
    assert row["trigger_alert"] == "Update failed" and row["fault_id_type"] == "Urp.UpdateFailure"

    # the blocks Azurite accepted: each block of each zip exactly once over both runs
    seen = proxy.records()
    blocks = staged_zip_blocks(seen)
    twice = [k for k, n in Counter((s.blob, s.block_id) for s in blocks).items() if n > 1]
    assert not twice, f"blocks staged twice: {twice[:5]}"
    assert staged_zip_blocks(seen, 1) and staged_zip_blocks(seen, 2), "the kill did not land mid-upload"
    commits = Counter(s.blob for s in seen if s.comp == "blocklist" and s.status == 201 and s.blob.endswith(".zip"))
    assert commits and all(n == 1 for n in commits.values()), commits
    assert not any(s.blob in committed_zips(first) and s.comp == "block" for s in seen[killed_at:]), \
        "a zip finished before the kill was sent again"
    # a zip cut in half by the kill: its staged blocks were kept, only the rest went up after the restart
    halves = half_sent(first)
    assert halves, "the kill did not land inside a zip"
    for blob in halves:
        before = {s.block_id for s in staged_zip_blocks(first) if s.blob == blob}
        after = {s.block_id for s in staged_zip_blocks(seen[killed_at:]) if s.blob == blob}
        assert before and not before & after, blob

    # the container holds the complete bundle: every zip of the final manifest, whole, and no other
    client = azurite.container(container)
    manifest = json.loads(client.download_blob(f"{row['bundle']}/manifest.json").readall())
    assert manifest["status"] == "complete" and manifest["resumed"] is True
    listed = {z["name"]: z for r in manifest["roles"].values() for z in r["zips"]}
    in_container = {b.name: b.size for b in client.list_blobs(name_starts_with=row["bundle"] + "/")}
    zips = {name.split("/", 1)[1]: size for name, size in in_container.items() if name.endswith(".zip")}
    assert set(zips) == set(listed) and set(commits) == {f"{row['bundle']}/{n}" for n in listed}
    for name, z in listed.items():
        assert zips[name] == z["bytes"] and z["delivered"]
        data = client.download_blob(f"{row['bundle']}/{name}").readall()
        assert hashlib.sha256(data).hexdigest() == z["sha256"], name
    sent = sum(s.body_bytes for s in blocks)
    assert sent == sum(zips.values()), (sent, sum(zips.values()))   # not one zip byte accepted twice
    assert row["files"] == manifest["summary"]["files"] and row["zips"] == len(listed)

    # no signature anywhere the service wrote: its log, the state directory, the bundle's output log and report
    out_log = client.download_blob(f"{row['bundle']}/Get-AzureStackLog_Output.log").readall().decode()
    assert "Resuming the collection started" in out_log and sig not in out_log
    assert sig not in client.download_blob(f"{row['bundle']}/CollectionReport.html").readall().decode()
    for p in [log, *(tmp_path / "state").rglob("*")]:
        if p.is_file() and p.suffix in (".json", ".jsonl", ".log", ".html", ".txt", ""):
            assert sig not in p.read_text(errors="replace"), p
    resent = len(staged_zip_blocks(seen, 2))
    print(f"\nkill -9 resume: {len(staged_zip_blocks(seen, 1))} blocks before the kill ({len(committed_zips(first))} "
          f"zips whole, {len(halves)} half sent), {resent} after; {len(listed)} zips, {sum(zips.values())} bytes, "
          "each block accepted once")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q", "-s"]))
