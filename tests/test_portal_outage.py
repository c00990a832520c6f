"""The outage story as one test, as an operator lives it, against the real `pep serve --portal` and
Azurite: Help + Support goes down (`pep support down`): the API and the page answer 503 naming the
PEP fallback and no automatic collection runs although a trigger alert persists; the operator
collects through `pep -c "Get-AzureStackLog ..."` meanwhile; support comes up (`pep support up`):
the history shows the PEP row, and the automatic collection that waited runs."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests
from enginehelp import small_stamp

PASSWORD = "Azs-Test-P@ss1"
AUTH = ("AZURESTACK\\CloudAdmin", PASSWORD)
ROOT = Path(__file__).resolve().parents[1]


def test_support_down_the_pep_collects_support_up_history_shows_the_pep_row(tmp_path, azurite):
    now = datetime.now(timezone.utc)
    stamp = small_stamp(tmp_path / "stamp", end=now, days=0.2)
    (tmp_path / "pw").write_text(PASSWORD + "\n")
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"health": {"scan_seconds": 0.5}, "automatic_collection": {
        "sas_min_valid_days": 0, "persistence_minutes": 0.02}}))
    common = ["--stamp", str(stamp), "--state-dir", str(tmp_path / "state"), "--config", str(config)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def pep(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([sys.executable, "-m", "pep", *common, *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=300)
        assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
        return done

    proc = subprocess.Popen([sys.executable, "-m", "pep", "serve", *common, "--listen", "127.0.0.1:0",
                             "--portal", "127.0.0.1:0", "--admin-password-file", str(tmp_path / "pw")],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        url = None
        while url is None:
            line = proc.stdout.readline()
            assert line, "pep serve ended before it printed its Help + Support address"
            m = re.match(r"Help \+ Support on (http://\S+/)", line)
            url = m.group(1) if m else None
        auto_sas = azurite.make_container_sas(permissions="rwl")
        r = requests.put(url + "api/settings/automatic-collection", json={"enabled": True, "sasUrl": auto_sas},
                         auth=AUTH, timeout=60)
        assert r.status_code == 200, r.text

        # support goes down; a trigger alert is raised and outlasts its persistence period
        assert pep("support", "down", "--reason", "storage maintenance").returncode == 0
        assert pep("fault", "add", "update-failed").returncode == 0
        api = requests.get(url + "api/health", auth=AUTH, timeout=30)
        assert api.status_code == 503 and api.json()["error"]["code"] == "SupportDown"
        assert "Get-AzureStackLog" in api.json()["error"]["message"]
        page = requests.get(url, timeout=30)
        assert page.status_code == 503 and "$using:fromDate" in page.text and "Get-AzureStackLog" in page.text
        time.sleep(3)   # the scheduler scans every 0.5 s and the alert has persisted: still nothing runs
        assert not list((tmp_path / "state" / "history" / "rows").glob("*.json"))

        # the operator collects through the PEP meanwhile, with literal dates as the outage answer shows
        pep_sas = azurite.make_container_sas(permissions="rwl")
        start, end = now - timedelta(hours=2), now
        collected = pep("-c", f'Get-AzureStackLog -OutputSasUri "{pep_sas}" -FilterByRole SeedRing,ECE '
                              f'-FromDate "{start:%m/%d/%Y %H:%M}" -ToDate "{end:%m/%d/%Y %H:%M}"')
        assert collected.returncode == 0, collected.stdout + collected.stderr

        # support comes back: the history shows the PEP row, then the automatic collection that waited
        assert pep("support", "up").returncode == 0
        rows = requests.get(url + "api/collections", auth=AUTH, timeout=30).json()["rows"]
        (pep_row,) = [r for r in rows if r["type"] == "PEP"]
        assert pep_row["status"] == "complete" and pep_row["destination"] == pep_sas.split("?")[0]
        assert pep_row["command"] == "Get-AzureStackLog" and pep_row["report"]
        deadline = time.monotonic() + 120
        while True:
            rows = requests.get(url + "api/collections", auth=AUTH, timeout=30).json()["rows"]
            auto = [r for r in rows if r["type"] == "automatic" and r["status"] != "in progress"]
            if auto:
                break
            assert time.monotonic() < deadline, rows
            time.sleep(0.5)
        assert auto[0]["status"] == "complete" and auto[0]["trigger_alert"] == "Update failed"
        assert auto[0]["time_collected"] > pep_row["ended"]    # it waited for support to come up
        for sas in (auto_sas, pep_sas):
            sig = parse_qs(urlsplit(sas).query)["sig"][0]
            assert sig not in json.dumps(rows) + collected.stdout + collected.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
