"""Help + Support "Collect logs now" (collector/collect_now.py): every validation rule with its own
code and message, the SAS's offline checks and its real pre-flight against Azurite, and a real
collection through the plan into Azurite that shows up in history as a manual row.
"""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
from enginehelp import small_stamp

from collector.collect_now import CollectNowError, CollectNowRequest, check_destination, collection_plan, validate, zone_of
from collector.destination import open_sink
from collector.engine import Engine
from collector.history import CollectionType, History, HistoryStatus
from collector.report import NullReporter
from session.environment import Environment

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
FAKE_SAS = ("https://acct.blob.core.windows.net/logs?sv=2025-11-05&sr=c&sp=rwl&st=2026-11-01T00:00:00Z"
            "&se=2028-11-01T00:00:00Z&sig=c2VjcmV0c2lnbmF0dXJl")


def req(frm="2026-11-25T08:00", to="2026-11-25T10:00", tz="UTC", sas=FAKE_SAS) -> CollectNowRequest:
    return CollectNowRequest(frm, to, tz, sas)


def refused(r: CollectNowRequest, now: datetime = NOW) -> CollectNowError:
    with pytest.raises(CollectNowError) as e:
        validate(r, now)
    assert "c2VjcmV0c2lnbmF0dXJl" not in e.value.message
    return e.value


@pytest.mark.parametrize("request_, code, field, words", [
    (req(frm=""), "MissingValue", "fromDate", "fromDate is required"),
    (req(to=None), "MissingValue", "toDate", "toDate is required"),
    (req(tz=" "), "MissingValue", "timeZone", "timeZone is required"),
    (req(sas=None), "MissingValue", "sasUrl", "sasUrl is required"),
    (req(frm="yesterday"), "InvalidDate", "fromDate", "not a date"),
    (req(tz="Mars/Olympus_Mons"), "UnknownTimeZone", "timeZone", "is not known"),
    (req(tz="../../etc/passwd"), "UnknownTimeZone", "timeZone", "is not known"),
    (req(frm="2026-11-25T10:00", to="2026-11-25T08:00"), "EndBeforeStart", "toDate", "must be after the start"),
    (req(frm="2026-11-25T10:00", to="2026-11-25T10:00"), "EndBeforeStart", "toDate", "must be after the start"),
    (req(frm="2026-11-25T08:00", to="2026-11-25T08:59"), "WindowTooShort", "toDate", "at least 1 hour"),
    (req(frm="2026-11-25T06:00", to="2026-11-25T10:01"), "WindowTooLong", "toDate", "at most 4 hours"),
    (req(frm="2026-11-18T08:00", to="2026-11-18T10:00"), "WindowTooOld", "fromDate", "last seven days"),
    (req(frm="2026-11-25T11:00", to="2026-11-25T13:00"), "WindowInFuture", "toDate", "in the future"),
    (req(sas="https://acct.blob.core.windows.net/logs?sv=2025-11-05&sr=c&sp=rwl"), "InvalidSasUri", "sasUrl",
     "no signature"),
    (req(sas=FAKE_SAS.replace("se=2028", "se=2025")), "SasUriExpired", "sasUrl", "expired"),
    (req(sas=FAKE_SAS.replace("sp=rwl", "sp=rl")), "SasUriPermissionDenied", "sasUrl", "Write"),
    (req(sas="ftp://nowhere"), "InvalidSasUri", "sasUrl", "not an http(s) URL"),
])
def test_each_rule_has_its_own_code_and_message(request_, code, field, words):
    e = refused(request_)
    assert (e.code, e.field) == (code, field) and words in e.message, e.message
    assert e.as_json() == {"error": {"code": code, "message": e.message, "field": field}}


def test_one_and_four_hours_are_allowed_and_the_window_is_in_utc():
    one = validate(req(frm="2026-11-25T08:00", to="2026-11-25T09:00"), NOW)
    assert one.window.to_utc - one.window.from_utc == timedelta(hours=1)
    four = validate(req(frm="2026-11-25T06:00", to="2026-11-25T10:00"), NOW)
    assert four.window.to_utc - four.window.from_utc == timedelta(hours=4)
    # exactly seven days back is still inside
    validate(req(frm="2026-11-18T12:00", to="2026-11-18T14:00"), NOW)


def test_windows_and_iana_time_zones_give_the_same_window():
    pacific = validate(req(frm="2026-11-25T00:00", to="2026-11-25T02:00", tz="Pacific Standard Time"), NOW)
    iana = validate(req(frm="2026-11-25T00:00", to="2026-11-25T02:00", tz="America/Los_Angeles"), NOW)
    assert pacific.window == iana.window
    assert pacific.window.from_utc == datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)  # PST is UTC-8 in November
    assert zone_of("w. europe standard time").key == "Europe/Berlin"
    # a date with an offset is taken as given, whatever the zone
    offset = validate(req(frm="2026-11-25T09:00+01:00", to="2026-11-25T11:00+01:00", tz="Tokyo Standard Time"), NOW)
    assert offset.window.from_utc == datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)


def test_the_api_body_is_read_strictly():
    assert CollectNowRequest.from_json({"fromDate": "a", "toDate": "b", "timeZone": "UTC", "sasUrl": "s"}) == \
        CollectNowRequest("a", "b", "UTC", "s")
    for bad in ([], "x", {"fromDate": 5}):
        with pytest.raises(CollectNowError) as e:
            CollectNowRequest.from_json(bad)
        assert e.value.code == "InvalidRequest"


# -- against a real Azurite ------------------------------------------------------------------------

def live_request(sas: str, hours_back: float = 2) -> CollectNowRequest:
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    return CollectNowRequest((now - timedelta(hours=hours_back)).isoformat(), now.isoformat(), "UTC", sas)


def test_the_preflight_writes_for_real(tmp_path, azurite):
    env = Environment(state_dir=tmp_path / "state")
    good = validate(live_request(azurite.make_container_sas(permissions="rwl")))
    check_destination(good, env)  # a marker block staged, read back, a listing: no exception
    # what only the server can tell: a tampered signature, a container that does not exist
    sas = azurite.make_container_sas(permissions="rwl")
    sig = parse_qs(urlsplit(sas).query)["sig"][0]
    tampered = validate(live_request(sas.replace("sig=", "sig=AAAA")))
    with pytest.raises(CollectNowError) as e:
        check_destination(tampered, env)
    assert e.value.code == "SasUriAuthenticationFailed" and sig not in e.value.message
    missing = validate(live_request(azurite.make_container_sas(permissions="rwl", create=False)))
    with pytest.raises(CollectNowError) as e:
        check_destination(missing, env)
    assert e.value.code == "ContainerNotFound"


def test_expired_and_read_only_sas_are_refused_before_any_write(azurite):
    expired = azurite.make_container_sas(permissions="rwl", expiry=timedelta(minutes=-5))
    assert refused(live_request(expired), datetime.now(timezone.utc)).code == "SasUriExpired"
    read_only = azurite.make_container_sas(permissions="rl")
    e = refused(live_request(read_only), datetime.now(timezone.utc))
    assert e.code == "SasUriPermissionDenied" and "Write" in e.message


def test_a_real_collection_to_azurite_through_collect_now(tmp_path, azurite):
    now = datetime.now(timezone.utc)
    stamp = small_stamp(tmp_path / "stamp", end=now, days=0.25)
    env = Environment(stamp_dir=stamp, state_dir=tmp_path / "state")
    sas = azurite.make_container_sas(permissions="rwl")
    valid = validate(live_request(sas))
    check_destination(valid, env)
    plan = collection_plan(valid, env.stamp.name, user="CloudAdmin")
    assert plan.request.command == "Collect logs now" and plan.origin.type is CollectionType.MANUAL
    assert plan.request.window == valid.window and plan.request.roles is None
    result = Engine(env).run(plan.request, open_sink(plan.destination, env), NullReporter(), threading.Event(),
                             plan.origin)
    row = History(env.state).get(result.history_id or "")
    assert row is not None and row.type is CollectionType.MANUAL
    assert row.status in (HistoryStatus.COMPLETE, HistoryStatus.PARTIAL) and row.files > 0
    assert row.logs_start == valid.window.from_utc.isoformat() and row.destination == sas.split("?")[0]
    container = azurite.container(urlsplit(sas).path.rsplit("/", 1)[1])
    names = {b.name for b in container.list_blobs()}
    assert f"{result.bundle}/manifest.json" in names and f"{result.bundle}/CollectionReport.html" in names
    assert any(n.endswith(".zip") for n in names)
    sig = parse_qs(urlsplit(sas).query)["sig"][0]
    assert all(sig not in p.read_text(errors="replace") for p in (tmp_path / "state" / "history").rglob("*")
               if p.is_file())
