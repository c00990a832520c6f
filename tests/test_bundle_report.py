"""The per-collection HTML report (collector/bundle_report.py): a pure function of the manifest,
escaped, redacted, with roles, durations, statuses and what was not collected and why; and the
report a real engine run delivers next to manifest.json.
"""
from __future__ import annotations

import json
from html.parser import HTMLParser

from enginehelp import bundle_dir, run, small_stamp, window

from collector.bundle_report import MAX_NOT_COLLECTED, REPORT_NAME, fmt_duration, render_report, role_duration
from collector.history import History
from common.state import StateDir

SIG = "c2VjcmV0c2lnbmF0dXJl"


def manifest(**kw):
    m = {
        "tool": "Get-AzureStackLog (azs-pep)", "bundle": "AzureStackLogs-20261125120000-AZS-ERCS01",
        "stamp": "azs", "ercs": "AZS-ERCS01", "status": "partial", "resumed": False,
        "started": "2026-11-25T12:00:00+00:00", "ended": "2026-11-25T12:03:05+00:00",
        "window": {"from_utc": "2026-11-25T08:00:00+00:00", "to_utc": "2026-11-25T12:00:00+00:00"},
        "request": {"FilterByRole": ["ECE", "<script>"], "destination": f"https://a.blob.core.windows.net/c?sv=1&sig={SIG}"},
        "summary": {"units": 3, "files": 7, "bytes": 3 * 1048576, "zips": 2, "zip_bytes": 1048576},
        "roles": {
            "ECE": {"status": "ok", "zips": [{"name": "ECE_1.zip", "delivered": True}], "hosts": {
                "azs-ercs01": {"status": "ok", "files": 5, "bytes": 2 * 1048576, "error": None,
                               "start": "2026-11-25T12:00:00+00:00", "end": "2026-11-25T12:01:00+00:00"},
                "azs-ercs02": {"status": "ok", "files": 1, "bytes": 1048576, "error": None,
                               "start": "2026-11-25T12:00:30+00:00", "end": "2026-11-25T12:02:00+00:00"}}},
            "<b>Evil</b>": {"status": "failed", "zips": [{"name": "X_1.zip", "delivered": False}], "hosts": {
                "azs-xrp01": {"status": "failed", "files": 0, "bytes": 0,
                              "error": f"<img src=x onerror=alert(1)> password=hunter2 sig={SIG}",
                              "start": "2026-11-25T12:00:00+00:00", "end": "2026-11-25T12:00:02+00:00"}}},
        },
        "not_collected": [{"role": "<b>Evil</b>", "host": "azs-xrp01", "path": "a<b>.log", "reason": "unreadable: denied"},
                          {"role": None, "host": None, "path": None, "reason": "X_1.zip could not be delivered"}],
    }
    m.update(kw)
    return m


class Texts(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> Texts:
    p = Texts()
    p.feed(html)
    return p


def test_the_report_says_roles_durations_statuses_and_what_was_not_collected():
    html = render_report(manifest())
    text = " ".join(parse(html).text)
    assert "partial" in text and "AzureStackLogs-20261125120000-AZS-ERCS01" in text
    assert "3m 05s" in text  # the run: started -> ended
    assert "2m 00s" in text  # ECE: first host's start to last host's end
    assert "2 of 3" in text  # role instances collected
    assert "unreadable: denied" in text and "X_1.zip could not be delivered" in text
    assert "X_1.zip (not delivered)" in text
    assert render_report(manifest()) == html  # pure: same manifest, same page


def test_everything_is_escaped_and_no_secret_reaches_the_page():
    html = render_report(manifest())
    p = parse(html)
    assert "script" not in p.tags and "img" not in p.tags and "b" not in p.tags
    assert "<b>Evil</b>" in " ".join(p.text)  # shown as text
    assert SIG not in html and "hunter2" not in html and "sig=REDACTED" in html


def test_a_huge_not_collected_list_is_cut_with_a_count():
    many = [{"role": "ECE", "host": "h", "path": f"f{i}.log", "reason": "timed out"} for i in range(MAX_NOT_COLLECTED + 42)]
    html = render_report(manifest(not_collected=many))
    assert f"f{MAX_NOT_COLLECTED - 1}.log" in html and f"f{MAX_NOT_COLLECTED}.log" not in html
    assert "... and 42 more: see manifest.json." in html


def test_a_clean_run_and_missing_fields_still_render():
    html = render_report({"bundle": "b", "status": "complete", "roles": {}, "not_collected": []})
    assert "Nothing: every file in the window was collected" in html and "every role instance was collected" in html
    assert role_duration({}) is None and fmt_duration(None) == "-" and fmt_duration(3725) == "1h 02m 05s"


def test_a_real_run_delivers_the_report_next_to_the_manifest(tmp_path):
    stamp = small_stamp(tmp_path / "stamp")
    state = tmp_path / "state"
    result, _ = run(stamp, state, tmp_path / "out", window(4, 0), roles=["ECE", "CA"],
                    config={"faults": {"unreachable_hosts": ["azs-ercs02"]}})
    bundle = bundle_dir(tmp_path / "out")
    m = json.loads((bundle / "manifest.json").read_text())
    html = (bundle / REPORT_NAME).read_text()
    assert html == render_report(m)
    assert "azs-ercs02" in html and m["status"] in html
    row = History(StateDir(state)).get(result.history_id)
    assert row is not None and (tmp_path / "state" / "history" / "reports" / f"{row.id}.html").read_text() == html
