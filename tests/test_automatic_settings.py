"""Automatic-collection settings (collector/automatic_settings.py): validated when saved against the
real Azurite and Samba (expired, read-only, too short-lived and tampered SAS refused; a valid SAS and
a valid share accepted after a real test write), the secret kept in a 0600 file and nowhere else,
the disable / re-enable rule, and the SAS's own alerts as data.
"""
from __future__ import annotations

import json
import stat
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from collector.automatic_settings import (
    EXPIRED_FAULT,
    EXPIRING_FAULT,
    SECRET_FILE,
    SETTINGS_FILE,
    Kind,
    Settings,
    SettingsError,
    destination,
    load,
    public_view,
    sas_alerts,
    save,
)
from collector.destination import DestinationKind
from session.environment import Environment


def env_for(tmp_path: Path, config: dict | None = None) -> Environment:
    return Environment(state_dir=tmp_path / "state", config=config or {})


def sig_of(sas: str) -> str:
    return parse_qs(urlsplit(sas).query)["sig"][0]


def everything_but_the_secret(tmp_path: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in (tmp_path / "state").rglob("*")
                   if p.is_file() and p.name != SECRET_FILE)


def refused(body: object, env: Environment) -> SettingsError:
    with pytest.raises(SettingsError) as e:
        save(body, env)
    return e.value


def test_an_expired_sas_is_refused(tmp_path, azurite):
    sas = azurite.make_container_sas(permissions="rwl", expiry=timedelta(minutes=-5))
    e = refused({"enabled": True, "sasUrl": sas}, env_for(tmp_path))
    assert e.code == "SasUriExpired" and "expired" in e.message and sig_of(sas) not in e.message
    assert load(env_for(tmp_path)) is None


def test_a_read_only_sas_is_refused(tmp_path, azurite):
    sas = azurite.make_container_sas(permissions="rl", expiry=timedelta(days=30))
    e = refused({"enabled": True, "sasUrl": sas}, env_for(tmp_path))
    assert e.code == "SasUriPermissionDenied" and "Write" in e.message and e.field == "sasUrl"


def test_a_sas_valid_for_less_than_seven_days_is_refused_unless_configured(tmp_path, azurite):
    sas = azurite.make_container_sas(permissions="rwl", expiry=timedelta(hours=2))
    e = refused({"enabled": True, "sasUrl": sas}, env_for(tmp_path))
    assert e.code == "SasUriExpiresTooSoon" and "7 days" in e.message
    ok = save({"enabled": True, "sasUrl": sas}, env_for(tmp_path, {"automatic_collection": {"sas_min_valid_days": 0}}))
    assert ok.enabled


def test_a_tampered_signature_is_refused_by_the_test_write(tmp_path, azurite):
    sas = azurite.make_container_sas(permissions="rwl", expiry=timedelta(days=30)).replace("sig=", "sig=AAAA")
    e = refused({"enabled": True, "sasUrl": sas}, env_for(tmp_path))
    assert e.code == "SasUriAuthenticationFailed" and sig_of(sas) not in e.message


def test_a_valid_sas_is_accepted_and_its_signature_kept_apart(tmp_path, azurite):
    sas = azurite.make_container_sas(permissions="rwl", expiry=timedelta(days=400))
    env = env_for(tmp_path)
    settings = save({"enabled": True, "sasUrl": sas}, env)
    assert settings.enabled and settings.kind is Kind.CONTAINER and settings.location == sas.split("?")[0]
    view = public_view(load(env))
    assert view["enabled"] is True and view["sasUrl"] == sas.split("?")[0]
    assert view["sasPermissions"] == "Read, Write, List" and view["sasExpiry"]
    assert sig_of(sas) not in json.dumps(view) and sig_of(sas) not in everything_but_the_secret(tmp_path)
    secret = tmp_path / "state" / "help-support" / SECRET_FILE
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600 and secret.read_text() == sas
    dest = destination(env)
    assert dest is not None and dest.kind is DestinationKind.CONTAINER and dest.location == sas
    assert sas_alerts(load(env), datetime.now(timezone.utc)) == []


def test_a_valid_share_is_accepted_and_a_wrong_password_refused(tmp_path, samba):
    env = env_for(tmp_path)
    good = {"enabled": True, "share": {"path": samba.unc("auto"), "userName": samba.user, "password": samba.password}}
    settings = save(good, env)
    assert settings.kind is Kind.SHARE and settings.user_name == samba.user and settings.location == samba.unc("auto")
    view = public_view(load(env))
    assert view == {"enabled": True, "share": {"path": samba.unc("auto"), "userName": samba.user},
                    "saved": settings.saved}
    assert samba.password not in everything_but_the_secret(tmp_path)
    assert stat.S_IMODE((tmp_path / "state" / "help-support" / SECRET_FILE).stat().st_mode) == 0o600
    dest = destination(env)
    assert dest is not None and dest.kind is DestinationKind.SHARE and dest.credential == (samba.user, samba.password)
    assert not [p for p in (samba.path / "auto").iterdir()]  # the test write left nothing behind

    bad = {"enabled": True, "share": {"path": samba.unc("auto"), "userName": samba.user, "password": "wrong-pw"}}
    e = refused(bad, env_for(tmp_path / "other"))
    assert e.code == "ShareLogonFailure" and "wrong-pw" not in e.message
    e = refused({"enabled": True, "share": {"path": "not-a-unc", "userName": "u", "password": "p"}}, env)
    assert e.code == "InvalidSharePath"
    assert load(env) == settings  # refusals leave the stored settings alone


def test_disable_keeps_the_url_and_re_enable_validates_it_again(tmp_path, azurite):
    env = env_for(tmp_path)
    sas = azurite.make_container_sas(permissions="rwl", expiry=timedelta(days=30))
    save({"enabled": True, "sasUrl": sas}, env)
    off = save({"enabled": False}, env)
    assert not off.enabled and off.location == sas.split("?")[0] and destination(env) is None
    assert save({"enabled": True}, env).enabled and destination(env) is not None
    # disabled, an expired URL may be stored (no test write); re-enabling refuses it
    expired = azurite.make_container_sas(permissions="rwl", expiry=timedelta(minutes=-5))
    save({"enabled": False, "sasUrl": expired}, env)
    e = refused({"enabled": True}, env)
    assert e.code == "SasUriExpired"
    assert not load(env).enabled  # type: ignore[union-attr]


@pytest.mark.parametrize("body, field", [
    ([], None), ({"enabled": "yes", "sasUrl": "x"}, "enabled"),
    ({"enabled": True, "sasUrl": "x", "share": {}}, "sasUrl"), ({"enabled": True, "sasUrl": ""}, "sasUrl"),
    ({"enabled": True, "share": {"path": "\\\\h\\s", "userName": "u"}}, "share.password"),
    ({"enabled": True, "share": "\\\\h\\s"}, "share"),
])
def test_malformed_bodies_are_invalid_settings(tmp_path, body, field):
    e = refused(body, env_for(tmp_path))
    assert (e.code, e.field) == ("InvalidSettings", field)


def test_enabling_with_nothing_stored_is_refused(tmp_path):
    e = refused({"enabled": True}, env_for(tmp_path))
    assert e.code == "InvalidSettings" and "No destination" in e.message
    assert not (tmp_path / "state" / "help-support" / SETTINGS_FILE).exists()


def test_the_sas_alerts():
    now = datetime(2026, 11, 25, tzinfo=timezone.utc)

    def with_expiry(t: datetime | None, enabled: bool = True, kind: Kind = Kind.CONTAINER) -> Settings:
        return Settings(enabled, kind, "https://a.blob.core.windows.net/c", None, t.isoformat() if t else None, "rwl")

    assert sas_alerts(with_expiry(now + timedelta(days=400)), now) == []
    (soon,) = sas_alerts(with_expiry(now + timedelta(days=20)), now)
    assert (soon.title, soon.fault_id_type, soon.severity) == ("Expiration date approaching", EXPIRING_FAULT, "Warning")
    assert "in 20 days" in soon.description
    (gone,) = sas_alerts(with_expiry(now - timedelta(seconds=1)), now)
    assert (gone.title, gone.fault_id_type, gone.severity) == ("SAS URL has expired", EXPIRED_FAULT, "Critical")
    assert sas_alerts(with_expiry(now - timedelta(days=1), enabled=False), now) == []
    assert sas_alerts(with_expiry(None), now) == [] and sas_alerts(None, now) == []
    (custom,) = sas_alerts(with_expiry(now + timedelta(days=50)), now, warning=timedelta(days=60))
    assert custom.severity == "Warning"
