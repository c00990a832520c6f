"""The Help + Support service over real HTTP: sign-in (Basic, the form, the cookie, lockout), every
API endpoint, "Collect logs now" into Azurite, the settings, CSRF, the outage answer, `pep serve --portal`."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from enginehelp import small_stamp

from collector import faultkinds
from collector.faultstore import FaultStore
from session.environment import Environment
from session.portal.service import PortalThread, parse_address

PASSWORD = "Azs-Test-P@ss1"
USER = "AZURESTACK\\CloudAdmin"
AUTH = (USER, PASSWORD)
FAST = {"signin": {"failure_delay_seconds": 0.2, "lockout_threshold": 3}}


def start_portal(tmp_path, config=None, stamp=None, **kw) -> PortalThread:
    env = Environment(stamp_dir=stamp, state_dir=tmp_path / "state", config={**FAST, **(config or {})})
    pw = tmp_path / "admin-password"
    pw.write_text(PASSWORD + "\n")
    return PortalThread(env, admin_password_file=str(pw), **kw).start()


@pytest.fixture
def portal(tmp_path):
    p = start_portal(tmp_path)
    yield p
    p.stop()


def sig_of(sas: str) -> str:
    return parse_qs(urlsplit(sas).query)["sig"][0]


def window(hours: float, end: datetime | None = None) -> dict[str, str]:
    end = (end or datetime.now(timezone.utc)).replace(second=0, microsecond=0)
    return {"fromDate": (end - timedelta(hours=hours)).isoformat(), "toDate": end.isoformat(), "timeZone": "UTC"}


def signed_in(portal: PortalThread) -> tuple[requests.Session, str]:
    """A browser-like session signed in through the form; returns it and the page's CSRF token."""
    s = requests.Session()
    page = s.get(portal.url + "signin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = s.post(portal.url + "signin", data={"csrf_token": token, "user": USER, "password": PASSWORD}, allow_redirects=False)
    assert r.status_code == 303 and r.headers["Location"] == "/"
    page = s.get(portal.url)
    assert page.status_code == 200 and "Health of" in page.text
    return s, re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


# -- sign-in ------------------------------------------------------------------------------------------

def test_the_api_needs_a_sign_in_and_answers_every_failure_alike(portal):
    url = portal.url + "api/health"
    none = requests.get(url)
    assert none.status_code == 401 and none.headers["WWW-Authenticate"].startswith("Basic ")
    assert none.json()["error"]["code"] == "Unauthorized"
    wrong = requests.get(url, auth=(USER, "nope"))
    unknown = requests.get(url, auth=("AZURESTACK\\Nobody", "nope"))
    assert wrong.status_code == unknown.status_code == 401 and wrong.text == unknown.text == none.text
    ok = requests.get(url, auth=AUTH)
    assert ok.status_code == 200 and ok.json()["categories"]
    assert "Traceback" not in wrong.text


def test_lockout_after_the_threshold_then_even_the_right_password_is_refused(portal):
    url = portal.url + "api/alerts"
    t0 = time.monotonic()
    answers = [requests.get(url, auth=(USER, f"wrong{i}")) for i in range(3)]
    assert time.monotonic() - t0 >= 3 * 0.2  # each failure waits for the gate's delay
    locked = requests.get(url, auth=AUTH)
    assert locked.status_code == 401 and locked.text == answers[0].text
    # the form is the same door: the account is locked there too
    s = requests.Session()
    token = re.search(r'name="csrf_token" value="([^"]+)"', s.get(portal.url + "signin").text).group(1)
    r = s.post(portal.url + "signin", data={"csrf_token": token, "user": "CloudAdmin", "password": PASSWORD},
               allow_redirects=False)
    assert r.status_code == 401 and "incorrect, or the account is locked" in r.text


def test_the_page_signs_in_with_a_form_and_a_strict_cookie(portal):
    r = requests.get(portal.url, allow_redirects=False)
    assert r.status_code == 303 and r.headers["Location"] == "/signin"
    s = requests.Session()
    page = s.get(portal.url + "signin")
    assert "Content-Security-Policy" in page.headers
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    bad = s.post(portal.url + "signin", data={"csrf_token": token, "user": USER, "password": "x"}, allow_redirects=False)
    assert bad.status_code == 401 and "incorrect" in bad.text and "pep_portal_session" not in bad.headers.get("Set-Cookie", "")
    token = re.search(r'name="csrf_token" value="([^"]+)"', bad.text).group(1)
    good = s.post(portal.url + "signin", data={"csrf_token": token, "user": USER, "password": PASSWORD},
                  allow_redirects=False)
    cookie = good.headers["Set-Cookie"]
    assert good.status_code == 303 and "pep_portal_session=" in cookie
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie  # plain HTTP here
    assert s.get(portal.url).status_code == 200
    # the cookie signs the API in too; a change needs the page's CSRF header
    assert s.get(portal.url + "api/settings/automatic-collection").json() == {"enabled": False}
    r = s.put(portal.url + "api/settings/automatic-collection", json={"enabled": False})
    assert r.status_code == 403 and r.json()["error"]["code"] == "CsrfTokenMissing"


def test_a_form_post_without_its_csrf_token_is_refused(portal):
    s, token = signed_in(portal)
    for path in ("collect", "settings", "signout"):
        r = s.post(portal.url + path, data={**window(2), "sasUrl": "x"}, allow_redirects=False)
        assert r.status_code == 403 and "CSRF" in r.text
        r = s.post(portal.url + path, data={**window(2), "csrf_token": "forged"}, allow_redirects=False)
        assert r.status_code == 403
    # a sign-in form posted from elsewhere (no matching cookie) is refused as well
    r = requests.post(portal.url + "signin", data={"csrf_token": token, "user": USER, "password": PASSWORD},
                      allow_redirects=False)
    assert r.status_code == 403
    out = s.post(portal.url + "signout", data={"csrf_token": token}, allow_redirects=False)
    assert out.status_code == 303 and s.get(portal.url, allow_redirects=False).status_code == 303


# -- the API ------------------------------------------------------------------------------------------

def test_health_and_alerts_follow_the_model(portal):
    env = portal.portal.env
    FaultStore.of(env).add(faultkinds.BY_NAME["update-failed"], None, datetime.now(timezone.utc))
    h = requests.get(portal.url + "api/health", auth=AUTH).json()
    result = {c["name"]: c["result"] for c in h["categories"]}
    assert result["AzsInfraUpdateSummary"] == "FAIL" and h["activeAlerts"] == 1 and h["status"] in ("Critical", "Warning")
    active = requests.get(portal.url + "api/alerts?state=active", auth=AUTH).json()["alerts"]
    assert [a["fault_id_type"] for a in active] == ["Urp.UpdateFailure"] and active[0]["state"] == "Active"
    assert requests.get(portal.url + "api/alerts?state=closed", auth=AUTH).json()["alerts"] == []
    bad = requests.get(portal.url + "api/alerts?state=maybe", auth=AUTH)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "InvalidState"


def test_bad_input_gets_a_json_error_never_a_traceback(portal):
    url = portal.url + "api/collections"
    r = requests.post(url, data=b"{not json", auth=AUTH)
    assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidJson"
    r = requests.post(url, data=b"x" * (65 * 1024), auth=AUTH)
    assert r.status_code == 413 and r.json()["error"]["code"] == "RequestTooLarge"
    r = requests.post(url, json=["a"], auth=AUTH)
    assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidRequest"
    r = requests.get(url + "?limit=0", auth=AUTH)
    assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidPage"
    r = requests.get(url + "/not-an-id", auth=AUTH)
    assert r.status_code == 404 and r.json()["error"]["code"] == "CollectionNotFound"
    r = requests.get(portal.url + "api/nothing-here", auth=AUTH)
    assert r.status_code == 404 and r.json()["error"]["code"] == "NotFound"
    r = requests.put(portal.url + "api/settings/automatic-collection", json={"enabled": "yes"}, auth=AUTH)
    assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidSettings"


def test_a_five_hour_window_is_refused_with_its_message(portal, azurite):
    sas = azurite.make_container_sas(permissions="rwl")
    r = requests.post(portal.url + "api/collections", json={**window(5), "sasUrl": sas}, auth=AUTH)
    assert r.status_code == 400
    err = r.json()["error"]
    assert err == {"code": "WindowTooLong", "message": "The time range is 5 h 00 min: it must be at most 4 hours.",
                   "field": "toDate"}
    assert requests.get(portal.url + "api/collections", auth=AUTH).json()["total"] == 0
    # the page shows the same message, keeps the dates, and never writes the SAS URL back
    s, token = signed_in(portal)
    page = s.post(portal.url + "collect", data={**window(5), "sasUrl": sas, "csrf_token": token})
    assert page.status_code == 400 and "it must be at most 4 hours." in page.text
    assert sig_of(sas) not in page.text and azurite.endpoint not in page.text


def test_settings_refuse_an_expired_sas_and_never_echo_a_signature(tmp_path, azurite):
    p = start_portal(tmp_path, config={"automatic_collection": {"sas_min_valid_days": 0}})
    try:
        url = p.url + "api/settings/automatic-collection"
        expired = azurite.make_container_sas(permissions="rwl", expiry=timedelta(minutes=-5))
        r = requests.put(url, json={"enabled": True, "sasUrl": expired}, auth=AUTH)
        assert r.status_code == 400 and r.json()["error"]["code"] == "SasUriExpired"
        assert sig_of(expired) not in r.text
        good = azurite.make_container_sas(permissions="rwl", expiry=timedelta(days=60))
        r = requests.put(url, json={"enabled": True, "sasUrl": good}, auth=AUTH)
        assert r.status_code == 200, r.text
        assert r.json()["enabled"] is True and r.json()["sasUrl"] == good.split("?")[0]
        assert requests.get(url, auth=AUTH).json() == r.json() and sig_of(good) not in r.text
        # the page's form: the same refusal, the saved container shown without its query
        s, token = signed_in(p)
        page = s.post(p.url + "settings", data={"csrf_token": token, "enabled": "on", "kind": "container",
                                                  "sasUrl": expired})
        assert page.status_code == 400 and "expired" in page.text
        assert sig_of(expired) not in page.text and sig_of(good) not in page.text and good.split("?")[0] in page.text
    finally:
        p.stop()


def test_collect_logs_now_through_the_api_into_azurite(tmp_path, azurite):
    now = datetime.now(timezone.utc)
    stamp = small_stamp(tmp_path / "stamp", end=now, days=0.25)
    p = start_portal(tmp_path, stamp=stamp)
    try:
        sas = azurite.make_container_sas(permissions="rwl")
        r = requests.post(p.url + "api/collections", json={**window(2, now), "sasUrl": sas}, auth=AUTH)
        assert r.status_code == 202, r.text
        row = r.json()
        assert row["status"] == "in progress" and row["type"] == "manual" and r.headers["Location"].endswith(row["id"])
        assert row["destination"] == sas.split("?")[0] and row["user"] == USER
        deadline = time.monotonic() + 120
        while True:
            one = requests.get(p.url + f"api/collections/{row['id']}", auth=AUTH)
            assert one.status_code == 200
            if one.json()["status"] != "in progress":
                break
            assert time.monotonic() < deadline, one.text
            time.sleep(0.3)
        done = one.json()
        assert done["status"] in ("complete", "partial") and done["files"] > 0 and done["zips"] > 0
        listing = requests.get(p.url + "api/collections?limit=10", auth=AUTH).json()
        assert listing["total"] == 1 and listing["rows"][0]["id"] == row["id"]
        report = requests.get(p.url.rstrip("/") + done["report"], auth=AUTH)
        assert report.status_code == 200 and report.headers["Content-Type"].startswith("text/html")
        assert "Content-Security-Policy" in report.headers
        names = {b.name for b in azurite.container(urlsplit(sas).path.rsplit("/", 1)[1]).list_blobs()}
        assert f"{done['bundle']}/manifest.json" in names and any(n.endswith(".zip") for n in names)
        # no signature in any answer or page
        s, _ = signed_in(p)
        page = s.get(p.url)
        assert row["id"] in page.text and done["report"] in page.text
        for text in (r.text, one.text, json.dumps(listing), report.text, page.text):
            assert sig_of(sas) not in text
    finally:
        p.stop()


def test_the_outage_switch_answers_503_naming_the_pep(tmp_path):
    p = start_portal(tmp_path, is_down=lambda env: True)
    try:
        r = requests.get(p.url + "api/health", auth=AUTH)
        assert r.status_code == 503 and r.json()["error"]["code"] == "SupportDown"
        assert "Get-AzureStackLog" in r.json()["error"]["message"]
        page = requests.get(p.url)
        assert page.status_code == 503 and "Get-AzureStackLog" in page.text
    finally:
        p.stop()


def test_https_uses_the_listeners_certificate_and_secure_cookies(tmp_path):
    import ssl

    from session.listener.server import ensure_certificate

    cert, key = ensure_certificate(tmp_path / "state", ["localhost", "127.0.0.1"])
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert), str(key))
    p = start_portal(tmp_path, ssl_context=ctx)
    try:
        assert p.url.startswith("https://")
        assert requests.get(p.url + "api/health", auth=AUTH, verify=str(cert)).status_code == 200
        s = requests.Session()
        token = re.search(r'name="csrf_token" value="([^"]+)"', s.get(p.url + "signin", verify=str(cert)).text).group(1)
        r = s.post(p.url + "signin", data={"csrf_token": token, "user": USER, "password": PASSWORD},
                   allow_redirects=False, verify=str(cert))
        assert r.status_code == 303 and "Secure" in r.headers["Set-Cookie"]
    finally:
        p.stop()


def test_parse_address():
    assert parse_address("127.0.0.1:8443") == ("127.0.0.1", 8443)
    assert parse_address(None) == ("127.0.0.1", 8443)
    assert parse_address("[::1]:0") == ("::1", 0)
    assert parse_address("9000") == ("127.0.0.1", 9000)
    with pytest.raises(ValueError):
        parse_address("host:port")


def test_the_real_outage_switch_is_seen_live(portal):
    from collector import support_switch

    env = portal.portal.env
    assert requests.get(portal.url + "api/health", auth=AUTH).status_code == 200
    support_switch.set_down(env, "maintenance")
    try:
        assert requests.get(portal.url + "api/health", auth=AUTH).status_code == 503
    finally:
        support_switch.set_up(env)
    assert requests.get(portal.url + "api/health", auth=AUTH).status_code == 200


def test_pep_serve_portal_prints_both_addresses_and_answers(tmp_path):
    pw = tmp_path / "admin-password"
    pw.write_text(PASSWORD + "\n")
    proc = subprocess.Popen([sys.executable, "-m", "pep", "serve", "--state-dir", str(tmp_path / "state"),
                             "--listen", "127.0.0.1:0", "--portal", "127.0.0.1:0", "--admin-password-file", str(pw)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("Help + Support on"):
                break
        text = "".join(lines)
        assert "Listening on http://127.0.0.1:" in text, text
        url = re.search(r"Help \+ Support on (http://127\.0\.0\.1:\d+/)", text).group(1)
        assert not url.endswith(":0/")
        assert requests.get(url + "api/health", auth=AUTH, timeout=30).status_code == 200
        assert requests.get(url + "api/health", timeout=30).status_code == 401
    finally:
        proc.terminate()
        proc.wait(30)
    assert proc.returncode == 0
    bad = subprocess.run([sys.executable, "-m", "pep", "serve", "--state-dir", str(tmp_path / "state"),
                          "--listen", "127.0.0.1:0", "--portal", "nowhere:port"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "portal address" in bad.stderr and "Traceback" not in bad.stderr


def test_collect_logs_now_waits_while_another_collection_holds_the_lock(tmp_path, azurite):
    """The engine waits for the lock itself (no probe, so no gap another collection could slip into):
    the row stays in progress and says whose collection it waits for, then runs once the lock is free."""
    from collector.engine import Engine

    now = datetime.now(timezone.utc)
    stamp = small_stamp(tmp_path / "stamp", end=now, days=0.25)
    p = start_portal(tmp_path, stamp=stamp)
    held = Engine(p.portal.env).lock()
    held.acquire({"user": "AZURESTACK\\CloudAdmin", "command": "Get-AzureStackLog"})
    try:
        sas = azurite.make_container_sas(permissions="rwl")
        r = requests.post(p.url + "api/collections", json={**window(1, now), "sasUrl": sas}, auth=AUTH)
        assert r.status_code == 202, r.text
        row_id = r.json()["id"]
        deadline = time.monotonic() + 20
        while True:
            one = requests.get(p.url + f"api/collections/{row_id}", auth=AUTH).json()
            if "Get-AzureStackLog" in json.dumps(one.get("progress") or {}):
                break
            assert time.monotonic() < deadline, one
            time.sleep(0.2)
        assert one["status"] == "in progress"
        held.release()
        deadline = time.monotonic() + 120
        while one["status"] == "in progress":
            assert time.monotonic() < deadline, one
            time.sleep(0.3)
            one = requests.get(p.url + f"api/collections/{row_id}", auth=AUTH).json()
        assert one["status"] in ("complete", "partial"), one
    finally:
        if held.held:
            held.release()
        p.stop()


def test_the_portal_caps_connections_per_client_and_closes_idle_ones(tmp_path):
    """The listener's connection limits hold at the portal too: a fifth connection from one address is
    closed at once, and a connection that says nothing is closed after the portal's keep-alive."""
    import socket

    p = start_portal(tmp_path, config={"listener": {"max_connections_per_client": 4},
                                       "portal": {"keepalive_seconds": 1}})
    held = [socket.create_connection(("127.0.0.1", p.portal.port), timeout=5) for _ in range(4)]
    try:
        extra = socket.create_connection(("127.0.0.1", p.portal.port), timeout=5)
        extra.settimeout(3)
        assert extra.recv(1) == b"", "a fifth connection from one address was kept"
        held[0].settimeout(5)
        started = time.monotonic()
        assert held[0].recv(1) == b""  # silent: closed after the keep-alive, not kept for an hour
        assert time.monotonic() - started < 4
    finally:
        for s in held:
            s.close()
        p.stop()


def test_an_automatic_collection_shows_its_progress_joined_alerts_and_summary(tmp_path, azurite):
    """The service's own scheduler runs an automatic collection; while it runs, GET /api/collections/{id}
    has its live progress; at the end the row (list and detail) names the trigger alert and the alert
    that joined it, carries the manifest's summary, and the per-collection page shows all of it."""
    now = datetime.now(timezone.utc)
    stamp = small_stamp(tmp_path / "stamp", end=now, days=0.1, mb_per_hour=2)
    config = {"health": {"scan_seconds": 0.2}, "upload": {"bandwidth_mbps": 4, "block_size_mb": 1 / 16},
              "automatic_collection": {"sas_min_valid_days": 0, "persistence_minutes": 0}}
    p = start_portal(tmp_path, config=config, stamp=stamp)
    try:
        env = p.portal.env
        store = FaultStore.of(env)
        store.add(faultkinds.BY_NAME["update-failed"], None, now - timedelta(minutes=2))
        store.add(faultkinds.BY_NAME["slb-route-publication-failure"], None, now - timedelta(seconds=30))
        sas = azurite.make_container_sas(permissions="rwl")
        r = requests.put(p.url + "api/settings/automatic-collection", json={"enabled": True, "sasUrl": sas}, auth=AUTH)
        assert r.status_code == 200, r.text

        progress, deadline = [], time.monotonic() + 120
        while True:
            rows = requests.get(p.url + "api/collections", auth=AUTH).json()["rows"]
            if rows:
                one = requests.get(p.url + f"api/collections/{rows[0]['id']}", auth=AUTH).json()
                if one["status"] != "in progress":
                    break
                if one.get("progress"):
                    progress.append(one["progress"])
            assert time.monotonic() < deadline, rows
            time.sleep(0.1)
        assert any(0 < q["bytesDone"] < q["bytesTotal"] for q in progress), progress   # seen mid-upload

        assert one["type"] == "automatic" and one["status"] == "complete", one
        assert (one["trigger_alert"], one["fault_id_type"]) == ("Update failed", "Urp.UpdateFailure")
        assert [(a["title"], a["fault_id_type"]) for a in one["joined_alerts"]] == [
            ("Route publication failure", "SlbMuxRoutePublicationFailure")]
        assert requests.get(p.url + "api/collections", auth=AUTH).json()["rows"][0]["joined_alerts"] == one["joined_alerts"]
        summary = one["manifest_summary"]
        assert summary["status"] == "complete" and summary["files"] == one["files"] and summary["zips"] == one["zips"]
        assert summary["role_instances_ok"] == summary["role_instances"] > 0 and "progress" not in one

        s, _ = signed_in(p)
        overview = s.get(p.url)
        assert f'href="/collections/{one["id"]}"' in overview.text and "SlbMuxRoutePublicationFailure" in overview.text
        page = s.get(p.url + f"collections/{one['id']}")
        assert page.status_code == 200 and "script-src 'self'" in page.headers["Content-Security-Policy"]
        for text in ("Update failed", "Urp.UpdateFailure", "Route publication failure", "SlbMuxRoutePublicationFailure",
                     "Manifest summary", f'href="/api/collections/{one["id"]}/report"'):
            assert text in page.text, text
        assert sig_of(sas) not in page.text + overview.text + json.dumps(one)
        assert s.get(p.url + "collections/nope").status_code == 404
        assert requests.get(p.url + f"collections/{one['id']}", allow_redirects=False).status_code == 303
        script = s.get(p.url + "static/collection.js")
        assert script.status_code == 200 and script.headers["Content-Type"].startswith("text/javascript")
    finally:
        p.stop()


def test_a_collect_logs_now_request_cut_short_resumes_when_submitted_again(tmp_path, azurite):
    """The service stops mid-upload (its request's SAS lived only in its memory, so nobody resumes it
    by itself); the same window to the same SAS URL again continues the bundle under a new row."""
    now = datetime.now(timezone.utc)
    stamp = small_stamp(tmp_path / "stamp", end=now, days=0.25)
    slow = {"upload": {"bandwidth_mbps": 1, "block_size_mb": 1 / 32}}
    sas = azurite.make_container_sas(permissions="rwl")
    body = {**window(2, now), "sasUrl": sas}
    p = start_portal(tmp_path, config=slow, stamp=stamp)
    try:
        first = requests.post(p.url + "api/collections", json=body, auth=AUTH).json()
        deadline = time.monotonic() + 60
        while not ((requests.get(p.url + f"api/collections/{first['id']}", auth=AUTH).json().get("progress") or {})
                   .get("bytesDone")):
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        p.stop()
    p = start_portal(tmp_path, stamp=stamp)
    try:
        cut = requests.get(p.url + f"api/collections/{first['id']}", auth=AUTH).json()
        assert cut["status"] in ("partial", "failed") and cut["run_status"] == "stopped", cut
        again = requests.post(p.url + "api/collections", json=body, auth=AUTH).json()
        assert again["id"] != first["id"]
        deadline = time.monotonic() + 120
        while (done := requests.get(p.url + f"api/collections/{again['id']}", auth=AUTH).json())["status"] == "in progress":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert done["status"] == "complete" and done["resumed"] is True and done["bundle"] == cut["bundle"], done
    finally:
        p.stop()
