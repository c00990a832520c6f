"""The Help + Support page in a real headless browser: Debian's Chromium driven by Playwright signs in
through the form, reads the overview (health, two active trigger alerts), enables automatic
collection with an Azurite SAS, sees the automatic collection appear in the history, follows it on
its own page (live progress from the page's script, then complete, the joined alert, the summary),
gets a 5-hour window refused, collects a 1-hour window into Azurite and opens its report.
A screenshot of each page is saved under the test's tmp_path."""
from __future__ import annotations

import os
import time
from datetime import datetime, timedelta, timezone

import pytest
from enginehelp import small_stamp

from collector import faultkinds, support_switch
from collector.faultstore import FaultStore
from session.environment import Environment
from session.portal.service import PortalThread

CHROMIUM = "/usr/bin/chromium"
if not os.access(CHROMIUM, os.X_OK):
    pytest.skip(f"{CHROMIUM} is missing (scripts/install-test-deps installs the Debian package chromium)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is missing (pip install -e '.[test]')")

PASSWORD = "Azs-Test-P@ss1"
USER = "AZURESTACK\\CloudAdmin"


def form_window(hours: float, end: datetime) -> dict[str, str]:
    end = end.replace(second=0, microsecond=0)
    return {"fromDate": (end - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M"), "toDate": end.strftime("%Y-%m-%dT%H:%M")}


@pytest.fixture
def portal(tmp_path):
    now = datetime.now(timezone.utc)
    stamp = small_stamp(tmp_path / "stamp", end=now, days=0.25)
    # demo periods: a trigger alert collects after 3 s; the upload is slowed so that the automatic
    # collection is still running when its page is opened (the test lifts the cap afterwards)
    config = {"signin": {"failure_delay_seconds": 0.2}, "health": {"scan_seconds": 0.5},
              "automatic_collection": {"sas_min_valid_days": 0, "persistence_minutes": 0.05},
              "upload": {"bandwidth_mbps": 0.5, "block_size_mb": 1 / 32}}
    env = Environment(stamp_dir=stamp, state_dir=tmp_path / "state", config=config)
    pw = tmp_path / "admin-password"
    pw.write_text(PASSWORD + "\n")
    p = PortalThread(env, admin_password_file=str(pw)).start()
    yield p
    p.stop()


@pytest.fixture
def page(tmp_path):
    # a fresh profile: Playwright takes it as user_data_dir (it refuses a --user-data-dir argument)
    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=CHROMIUM, headless=True,
            viewport={"width": 1280, "height": 900},
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        try:
            pg = context.pages[0] if context.pages else context.new_page()
            pg.set_default_timeout(30_000)
            yield pg
        finally:
            context.close()


def test_the_page_in_chromium(portal, page, azurite, tmp_path):
    expect = sync_api.expect
    shots = tmp_path / "screenshots"
    shots.mkdir()

    # sign in through the form
    page.goto(portal.url)
    assert page.url.endswith("/signin")
    page.fill("#user", USER)
    page.fill("#password", PASSWORD)
    page.screenshot(path=str(shots / "1-signin.png"), full_page=True)
    page.click("button[type=submit]")
    expect(page.locator("#health h2")).to_contain_text("Health of")
    expect(page.locator("header")).to_contain_text(USER)

    # the overview: an update-failed fault turns into an active alert and a failed category; a route
    # publication failure a little later is a second trigger alert
    env = portal.portal.env
    FaultStore.of(env).add(faultkinds.BY_NAME["update-failed"], None, datetime.now(timezone.utc) - timedelta(seconds=20))
    FaultStore.of(env).add(faultkinds.BY_NAME["slb-route-publication-failure"], None, datetime.now(timezone.utc))
    page.reload()
    expect(page.locator("#alerts h2")).to_have_text("Active alerts (2)")
    expect(page.locator("#alerts")).to_contain_text("Urp.UpdateFailure")
    expect(page.locator("#health td.FAIL").first).to_have_text("FAIL")
    page.screenshot(path=str(shots / "2-overview.png"), full_page=True)

    # automatic-collection settings with a valid SAS: saved, the container shown without its signature
    sas = azurite.make_container_sas(permissions="rwl", expiry=timedelta(days=60))
    page.check("#settings input[name=enabled]")
    page.check("#settings input[name=kind][value=container]")
    page.fill("#settingsSasUrl", sas)
    page.click("#settings button[type=submit]")
    expect(page.locator("p.notice")).to_have_text("The automatic-collection settings were saved.")
    expect(page.locator("#settings")).to_contain_text("enabled")
    expect(page.locator("#settings")).to_contain_text(sas.split("?")[0])
    assert "sig=" not in page.content()
    page.screenshot(path=str(shots / "3-settings-saved.png"), full_page=True)

    # the alerts have persisted: an automatic collection appears in the history by itself
    auto_row = page.locator("#history tbody tr").first
    deadline = time.monotonic() + 60
    while not auto_row.is_visible() and time.monotonic() < deadline:
        time.sleep(0.5)
        page.goto(portal.url)
    expect(auto_row.locator("td").nth(2)).to_contain_text("automatic")
    expect(auto_row.locator("td").nth(1)).to_contain_text("in progress")
    expect(auto_row.locator("td .progress")).to_contain_text("%")      # its live progress beside the status
    expect(auto_row.locator("td").nth(2)).to_contain_text("Update failed (Urp.UpdateFailure)")
    expect(auto_row.locator("td").nth(2)).to_contain_text("+ Route publication failure (SlbMuxRoutePublicationFailure)")
    page.screenshot(path=str(shots / "4-automatic-in-history.png"), full_page=True)

    # its own page: live progress while it runs (the page's script polls the API), then complete by
    # itself, with the alert that joined it, the manifest's summary and the report link
    auto_row.locator("td").first.locator("a").click()
    expect(page.locator("#collection h2")).to_contain_text("Collection ")
    expect(page.locator("#status")).to_have_text("in progress")
    expect(page.locator("#live")).to_be_visible()
    first = page.locator("#percent").text_content()
    expect(page.locator("#percent")).not_to_have_text(first or "", timeout=30_000)   # moved by the script, no reload
    page.screenshot(path=str(shots / "5-automatic-running.png"), full_page=True)
    expect(page.locator("#status")).to_have_text("complete", timeout=120_000)
    expect(page.locator("#trigger")).to_contain_text("Urp.UpdateFailure")
    expect(page.locator("#joined")).to_contain_text("SlbMuxRoutePublicationFailure")
    expect(page.locator("#summary")).to_contain_text("Role instances collected")
    expect(page.locator("#report")).to_be_visible()
    assert "sig=" not in page.content()
    page.screenshot(path=str(shots / "6-automatic-complete.png"), full_page=True)
    env.config["upload"] = {}   # the manual collection below runs at full speed
    page.goto(portal.url)

    # a 5-hour window: refused with its message on the page, the dates kept, the SAS not written back
    now = datetime.now(timezone.utc)
    too_long = form_window(5, now)
    page.fill("#fromDate", too_long["fromDate"])
    page.fill("#toDate", too_long["toDate"])
    page.fill("#timeZone", "UTC")
    page.fill("#sasUrl", sas)
    page.click("#collect button[type=submit]")
    expect(page.locator("#collect p.error")).to_contain_text("it must be at most 4 hours.")
    expect(page.locator("#fromDate")).to_have_value(too_long["fromDate"])
    expect(page.locator("#sasUrl")).to_have_value("")
    expect(page.locator("#history tbody tr")).to_have_count(1)   # the automatic one only
    page.screenshot(path=str(shots / "7-collect-refused.png"), full_page=True)

    # a 1-hour window: started, then complete in the history (the page reloads itself while it runs)
    one_hour = form_window(1, now)
    page.fill("#fromDate", one_hour["fromDate"])
    page.fill("#toDate", one_hour["toDate"])
    page.fill("#timeZone", "UTC")
    page.fill("#sasUrl", sas)
    page.click("#collect button[type=submit]")
    expect(page.locator("p.notice")).to_contain_text("started: it is in the history below.")
    page.screenshot(path=str(shots / "8-collect-started.png"), full_page=True)
    row = page.locator("#history tbody tr").first
    expect(page.locator("#history tbody tr")).to_have_count(2)
    expect(row.locator("td").nth(2)).to_have_text("manual")
    page.goto(portal.url)  # the same page without the POST, so that its own refresh can reload it
    expect(row.locator("td").nth(1)).to_have_text("complete", timeout=60_000)
    page.screenshot(path=str(shots / "9-history-complete.png"), full_page=True)

    # its report
    row.locator("a", has_text="report").click()
    page.wait_for_load_state()
    assert "/report" in page.url
    assert "sig=" not in page.content()
    expect(page.locator("body")).to_contain_text("Log collection report")
    expect(page.locator("body")).to_contain_text(sas.split("?")[0])
    page.screenshot(path=str(shots / "10-report.png"), full_page=True)

    # the outage page: Help + Support switched off, the page names the PEP fallback
    support_switch.set_down(env, "browser test")
    response = page.goto(portal.url)
    assert response is not None and response.status == 503
    expect(page.locator("h2")).to_have_text("Help + Support is down")
    expect(page.locator("pre")).to_contain_text("Get-AzureStackLog -OutputSasUri")
    page.screenshot(path=str(shots / "11-outage.png"), full_page=True)
    support_switch.set_up(env)
    for name in ("1-signin", "2-overview", "3-settings-saved", "4-automatic-in-history", "5-automatic-running",
                 "6-automatic-complete", "7-collect-refused", "8-collect-started", "9-history-complete", "10-report",
                 "11-outage"):
        assert (shots / f"{name}.png").stat().st_size > 1000
