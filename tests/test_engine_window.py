"""Window and filter correctness of the engine, checked against the generator's ground truth."""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import pytest
from enginehelp import END, bundle_dir, collected_paths, expected_paths, run, small_stamp, window

from collector.logkinds import Listed, judge
from collector.window import Window, WindowError, resolve


@pytest.fixture(scope="module")
def stamp(tmp_path_factory):
    return small_stamp(tmp_path_factory.mktemp("stamp") / "s")


def test_defaults_are_the_last_four_hours_in_utc():
    now = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
    w = resolve(None, None, now=now)
    assert (w.from_utc, w.to_utc) == (now - timedelta(hours=4), now)
    local = datetime(2026, 11, 25, 8, 0)  # naive = local time, as a PowerShell DateTime typed in the session
    assert resolve(local, None, now=now).from_utc == local.astimezone().astimezone(timezone.utc)
    assert "(UTC)" in w.describe() and "2026-11-25 08:00:00" in w.describe()


def test_todate_before_fromdate_is_refused():
    with pytest.raises(WindowError, match="earlier than the FromDate"):
        resolve(datetime(2026, 11, 25, tzinfo=timezone.utc), datetime(2026, 11, 24, tzinfo=timezone.utc))


@pytest.mark.parametrize("span", [(4, 0), (10, 7.5), (23.9, 23), (0.5, 0.2)])
def test_collected_files_are_exactly_those_whose_records_overlap_the_window(stamp, tmp_path, span):
    w = window(*span)
    result, _ = run(stamp, tmp_path / "state", tmp_path / "out", w)
    got = collected_paths(bundle_dir(tmp_path / "out"))
    assert set(got) == expected_paths(stamp, w)
    assert all(n == 1 for n in got.values())
    assert result.status == "complete"


def test_filters_role_node_logtype_dumps(stamp, tmp_path):
    w = window(12, 0)
    run(stamp, tmp_path / "s1", tmp_path / "o1", w, roles=["VirtualMachines", "URP"], nodes=["azs-xrp01", "AZS-ACS01"],
        log_types=["WindowsEvent"])
    got = set(collected_paths(bundle_dir(tmp_path / "o1")))
    want = expected_paths(stamp, w, roles={"VirtualMachines", "URP"}, hosts={"azs-xrp01", "azs-acs01"},
                          log_types={"WindowsEvent"})
    assert got == want and all(p.endswith(".evtx") for p in got)
    run(stamp, tmp_path / "s2", tmp_path / "o2", Window(w.from_utc - timedelta(days=2), w.to_utc), include_dumps=True)
    got = set(collected_paths(bundle_dir(tmp_path / "o2")))
    assert got == expected_paths(stamp, Window(w.from_utc - timedelta(days=2), w.to_utc), dumps=True)
    assert any(p.endswith(".dmp") for p in got)


def test_resource_provider_logs_only_when_asked(stamp, tmp_path):
    w = window(6, 0)
    run(stamp, tmp_path / "s", tmp_path / "o", w, resource_providers=["SQLAdapter"])
    b = bundle_dir(tmp_path / "o")
    assert [z.name for z in b.glob("*.zip")] == ["SQLAdapter_1.zip"]


def test_only_text_logs_written_after_the_window_are_read():
    """A text log last written before the window is out and one last written within it is in, both
    without reading a line; only one last written after the window's end is read, and its first
    record time decides."""
    w = Window(datetime(2026, 11, 25, 10, tzinfo=timezone.utc), datetime(2026, 11, 25, 12, tzinfo=timezone.utc))
    old = Listed("Logs/x.2.log", 10, datetime(2026, 11, 25, 9, tzinfo=timezone.utc))
    inside = Listed("Logs/x.1.log", 10, datetime(2026, 11, 25, 11, tzinfo=timezone.utc))
    late_in = Listed("Logs/x.log", 10, datetime(2026, 11, 25, 13, tzinfo=timezone.utc))
    late_out = Listed("Logs/y.log", 10, datetime(2026, 11, 25, 13, tzinfo=timezone.utc))
    first = {"Logs/x.log": datetime(2026, 11, 25, 10, 30, tzinfo=timezone.utc),
             "Logs/y.log": datetime(2026, 11, 25, 12, 30, tzinfo=timezone.utc)}
    etl = [Listed(f"Traces/X_20261125-{h:02d}0000.etl", 10, datetime(2026, 11, 25, h + 1, tzinfo=timezone.utc))
           for h in (6, 9, 11)]
    asked = []
    res = judge([old, inside, late_in, late_out, *etl], w,
                lambda f: asked.append(f.relpath) or first.get(f.relpath))
    assert asked == ["Logs/x.log", "Logs/y.log"]
    sel = {j.file.relpath: j.selected for j in res}
    # the 06:00 roll ends when the 09:00 roll starts: before the window; the 09:00 roll runs to 11:00
    assert sel == {"Logs/x.2.log": False, "Logs/x.1.log": True, "Logs/x.log": True, "Logs/y.log": False,
                   "Traces/X_20261125-060000.etl": False, "Traces/X_20261125-090000.etl": True,
                   "Traces/X_20261125-110000.etl": True}


@pytest.mark.parametrize("span", [(4, 0), (1, 0), (20, 19), (13.3, 12.9), (30, 23.5), (0.5, -2), (40, 30)])
def test_pruning_by_name_never_drops_a_file_the_full_rule_keeps(stamp, span):
    """Every unit of the stamp, windows at the end, in the middle, across its start and past its end:
    the listing pruned by name is judged exactly as the full listing is."""
    from collector.logkinds import prune_by_name
    from collector.source import StampSource

    src = StampSource(stamp)
    w = window(*span)
    pruned_total = 0
    for unit_dir in sorted((stamp / "hosts").glob("*/*")):
        host, unit = unit_dir.parent.name, unit_dir.name
        full = src.list_unit(host, unit)
        def first_time(f, host=host, unit=unit):
            return src.first_record_time(host, unit, f)

        keep = {j.file.relpath for j in judge(full, w, first_time) if j.selected}
        pruned_listing, names = src.list_unit_pruned(host, unit, lambda ns: prune_by_name(ns, w))
        assert sorted(names) == sorted(f.relpath for f in full)
        pruned_total += len(names) - len(pruned_listing)
        kept = {j.file.relpath for j in judge(pruned_listing, w, first_time, siblings=names) if j.selected}
        assert kept == keep, (host, unit)
    assert pruned_total > 0


def test_rolled_text_series_newest_first():
    from collector.logkinds import text_series

    names = ["App.log", "App.1.log", "App.10.log", "App.2.log", "u_ex261124.log", "u_ex261125.log",
             "AppShare.20261125080000.log", "AppShare.20261124200000.log", "AppShare.20261125000000.log",
             "Other.3.txt", "Other.1.txt", "Lone.log", "X_20261125-080000.etl"]
    got = {s[0]: s for s in text_series(names)}
    assert got == {
        "App.log": ["App.log", "App.1.log", "App.2.log", "App.10.log"],
        "u_ex261125.log": ["u_ex261125.log", "u_ex261124.log"],
        # a 14-digit time is not a roll number: the newest time comes first, not last
        "AppShare.20261125080000.log": ["AppShare.20261125080000.log", "AppShare.20261125000000.log",
                                        "AppShare.20261124200000.log"],
        "Other.1.txt": ["Other.1.txt", "Other.3.txt"],
    }


def test_rolls_older_than_the_first_one_before_the_window_are_not_stated(tmp_path, monkeypatch):
    """A week of hourly rolls: a 1-hour window stats the active file and the newest roll, no more,
    and still collects what the full rule collects."""
    from collector.logkinds import prune_by_name
    from collector.source import StampSource

    logs = tmp_path / "hosts" / "h1" / "URP" / "Logs"
    logs.mkdir(parents=True)
    for k in range(0, 7 * 24):
        p = logs / ("URP.log" if k == 0 else f"URP.{k}.log")
        first = END - timedelta(hours=k + 1) + timedelta(seconds=1)
        p.write_text(f"{first:%Y-%m-%dT%H:%M:%S}.000Z [Info] roll {k}\n")
        ns = int((END - timedelta(hours=k)).timestamp()) * 10**9
        os.utime(p, ns=(ns, ns))
    src = StampSource(tmp_path)
    stat_calls = []
    real_stat = StampSource._stat
    monkeypatch.setattr(StampSource, "_stat", staticmethod(lambda e: stat_calls.append(e.name) or real_stat(e)))
    w = window(1.5, 0)
    listing, names = src.list_unit_pruned("h1", "URP", lambda ns: prune_by_name(ns, w))
    assert len(names) == 7 * 24
    # newest first down to the first roll before the window, then the oldest (the order check)
    assert sorted(stat_calls) == ["URP.1.log", "URP.167.log", "URP.2.log", "URP.log"]
    picked = {j.file.relpath for j in judge(listing, w, lambda f: src.first_record_time("h1", "URP", f),
                                            siblings=names) if j.selected}
    assert picked == {"Logs/URP.log", "Logs/URP.1.log"}


def test_rolls_numbered_the_other_way_round_are_all_judged(tmp_path):
    """Archives numbered oldest first (App.1.log the oldest, as some loggers do): the order check
    catches it, and the window still gets exactly the files whose records overlap it."""
    from collector.logkinds import prune_by_name
    from collector.source import StampSource

    logs = tmp_path / "hosts" / "h1" / "URP" / "Logs"
    logs.mkdir(parents=True)
    n = 48
    for k in range(0, n + 1):  # App.log active; App.48.log the newest archive, App.1.log the oldest
        p = logs / ("App.log" if k == 0 else f"App.{n + 1 - k}.log")
        first = END - timedelta(hours=k + 1) + timedelta(seconds=1)
        p.write_text(f"{first:%Y-%m-%dT%H:%M:%S}.000Z [Info] part {k}\n")
        ns = int((END - timedelta(hours=k)).timestamp()) * 10**9
        os.utime(p, ns=(ns, ns))
    src = StampSource(tmp_path)
    w = window(2.5, 0)
    listing, names = src.list_unit_pruned("h1", "URP", lambda ns: prune_by_name(ns, w))
    assert len(listing) == len(names) == n + 1
    picked = {j.file.relpath for j in judge(listing, w, lambda f: src.first_record_time("h1", "URP", f),
                                            siblings=names) if j.selected}
    assert picked == {"Logs/App.log", "Logs/App.48.log", "Logs/App.47.log"}
