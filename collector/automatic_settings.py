"""Automatic-collection settings (Help + Support): where automatic collections go, validated when
saved, stored in the state directory with the secret kept apart.

    settings = save(body, env)          # body: {"enabled": bool, "sasUrl": "..."}
                                        #    or {"enabled": bool, "share": {"path", "userName", "password"}}
                                        # raises SettingsError(code, message, field)
    load(env)                           # the stored settings (no secret), or None
    public_view(settings)               # what GET /api/settings/automatic-collection shows
    destination(env)                    # the Destination automatic collections use, with the secret
    sas_alerts(settings, now)           # "Expiration date approaching" / "SAS URL has expired", as data

Validation when saved with `enabled: true` (the portal's 1907-1910 behaviour plus 2005+'s share):

- InvalidSettings: not an object, `enabled` not a boolean, both or neither of sasUrl and share, a
  share without path, userName or password;
- InvalidSasUri, SasUriNotYetValid, SasUriPermissionDenied, SasUriExpired: collector.sas offline (no
  signature, not a container SAS, Read, Write or List missing, expired);
- SasUriExpiresTooSoon: it expires within `automatic_collection.sas_min_valid_days` (default 7, the
  documented "at least 7 days"; Microsoft recommends two years);
- SasUriAuthenticationFailed, ContainerNotFound, DestinationUnreachable, ...: the real test write
  (BlobSink's pre-flight);
- InvalidSharePath, ShareLogonFailure, SharePathNotFound, SharePathAccessDenied, ...: the share's
  logon and test write (SmbSink's pre-flight).

`enabled: false` stores the destination after the offline shape checks only (no test write, an
expired SAS may be kept); `{"enabled": true}` with no destination re-enables the stored one and
validates it again, so an expired SAS is refused then (the documented disable/re-enable rule).

Storage: `<state>/help-support/automatic-collection.json` (no secret: the container URL without
its query, the SAS's expiry and permissions, the share path and user name) and
`automatic-collection.secret` (mode 0600: the whole SAS URL, or the share password), each written
atomically. Nothing here prints, logs or returns the secret except `destination()`.

SAS alerts (choices documented in docs/help-support.md): "Expiration date approaching", Warning,
FaultIdType `AzureStack.DiagnosticLogCollection.SasUrlExpiring`, from 30 days before the expiry
(`automatic_collection.sas_warning_days`); "SAS URL has expired", Critical, FaultIdType
`AzureStack.DiagnosticLogCollection.SasUrlExpired`. Neither triggers a collection.
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from pathlib import Path
from typing import Any

from collector.destination import Destination
from collector.errors import DestinationError
from collector.sas import PERMISSION_NAMES, SasUriError, parse_sas_url
from collector.settings import EngineEnv
from common.state import atomic_write

SETTINGS_FILE = "automatic-collection.json"
SECRET_FILE = "automatic-collection.secret"
DEFAULT_MIN_VALID_DAYS = 7.0
DEFAULT_WARNING_DAYS = 30.0
EXPIRING_FAULT = "AzureStack.DiagnosticLogCollection.SasUrlExpiring"
EXPIRED_FAULT = "AzureStack.DiagnosticLogCollection.SasUrlExpired"


class SettingsError(ValueError):
    """Settings refused: `code` for programs, `message` for people (never a secret), `field`."""

    def __init__(self, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.code, self.message, self.field = code, message, field

    def as_json(self) -> dict[str, dict[str, str | None]]:
        return {"error": {"code": self.code, "message": self.message, "field": self.field}}


class Kind(StrEnum):
    CONTAINER = "container"
    SHARE = "share"


@dataclass(frozen=True)
class Settings:
    """Stored settings, without the secret."""

    enabled: bool
    kind: Kind
    location: str                    # container URL without its query, or the share's UNC path
    user_name: str | None = None     # share
    sas_expiry: str | None = None    # container: ISO 8601 UTC, None when the SAS names none
    sas_permissions: str | None = None
    saved: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"enabled": self.enabled, "kind": self.kind.value, "location": self.location,
                "user_name": self.user_name, "sas_expiry": self.sas_expiry,
                "sas_permissions": self.sas_permissions, "saved": self.saved}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Settings:
        return cls(bool(d["enabled"]), Kind(d["kind"]), str(d["location"]), d.get("user_name"), d.get("sas_expiry"),
                   d.get("sas_permissions"), str(d.get("saved") or ""))


@dataclass(frozen=True)
class _Input:
    enabled: bool
    kind: Kind | None          # None: keep the stored destination
    location: str = ""         # SAS URL (secret) or UNC path
    user_name: str = ""
    password: str = ""


@dataclass(frozen=True)
class SasAlert:
    title: str
    fault_id_type: str
    severity: str              # Warning | Critical
    description: str
    expiry: str                # ISO 8601 UTC


def _folder(env: EngineEnv) -> Path:
    return env.state.sub("help-support")


def parse_body(body: object) -> _Input:
    """The API body's shape (pure). Raises SettingsError(InvalidSettings)."""
    if not isinstance(body, dict):
        raise SettingsError("InvalidSettings", "The settings must be a JSON object: {\"enabled\": true, \"sasUrl\": "
                            "\"...\"} or {\"enabled\": true, \"share\": {\"path\", \"userName\", \"password\"}}.")
    enabled = body.get("enabled")
    if not isinstance(enabled, bool):
        raise SettingsError("InvalidSettings", "enabled must be true or false.", "enabled")
    sas, share = body.get("sasUrl"), body.get("share")
    if sas is not None and share is not None:
        raise SettingsError("InvalidSettings", "Give either sasUrl or share, not both.", "sasUrl")
    if sas is not None:
        if not isinstance(sas, str) or not sas.strip():
            raise SettingsError("InvalidSettings", "sasUrl must be the blob container's SAS URL.", "sasUrl")
        return _Input(enabled, Kind.CONTAINER, sas.strip())
    if share is not None:
        if not isinstance(share, dict):
            raise SettingsError("InvalidSettings", "share must be an object with path, userName and password.", "share")
        parts = {k: share.get(k) for k in ("path", "userName", "password")}
        for k, v in parts.items():
            if not isinstance(v, str) or (k != "password" and not v.strip()):
                raise SettingsError("InvalidSettings", f"share.{k} is required.", f"share.{k}")
        return _Input(enabled, Kind.SHARE, str(parts["path"]).strip(), str(parts["userName"]).strip(),
                      str(parts["password"]))
    return _Input(enabled, None)


def check_sas_offline(url: str, now: datetime, min_valid: timedelta) -> Settings:
    """The SAS's offline checks (pure). Raises SettingsError with the collector.sas code."""
    try:
        sas = parse_sas_url(url)
        sas.check("rwl", now)
    except SasUriError as e:
        raise SettingsError(e.error_id, e.message, "sasUrl") from None
    expiry = sas.expiry
    if expiry is not None and expiry - now < min_valid:
        days = min_valid.total_seconds() / 86400
        raise SettingsError("SasUriExpiresTooSoon", f"The SAS URI '{sas.container_url}' expires at "
                            f"{expiry:%Y-%m-%dT%H:%M:%SZ}, in less than {days:g} days: automatic collection needs a SAS "
                            "valid for at least that long (two years is recommended).", "sasUrl")
    return Settings(True, Kind.CONTAINER, sas.container_url, None, expiry.isoformat() if expiry else None,
                    sas.permissions, now.isoformat())


def _preflight(inp: _Input, env: EngineEnv) -> None:
    """The real test write, through the sinks' own pre-flight."""
    try:
        if inp.kind is Kind.CONTAINER:
            from collector.sinks.blob import BlobSink

            blob = BlobSink(inp.location, env)
            try:
                blob.preflight()
            finally:
                blob.close()
        else:
            from collector.sinks.smb import SmbSink

            smb = SmbSink(inp.location, (inp.user_name, inp.password), env)
            try:
                smb.preflight()
            finally:
                smb.close()
    except DestinationError as e:
        raise SettingsError(e.error_id, e.message, "sasUrl" if inp.kind is Kind.CONTAINER else "share") from None
    except ImportError as e:
        raise SettingsError("DestinationNotAvailable", f"This destination is not available: {e}") from None


def _stored_input(env: EngineEnv, enabled: bool) -> _Input:
    current = load(env)
    secret = _read_secret(env)
    if current is None or secret is None:
        raise SettingsError("InvalidSettings", "No destination is stored yet: give sasUrl or share.", "sasUrl")
    if current.kind is Kind.CONTAINER:
        return _Input(enabled, Kind.CONTAINER, secret)
    return _Input(enabled, Kind.SHARE, current.location, current.user_name or "", secret)


def save(body: object, env: EngineEnv, now: datetime | None = None) -> Settings:
    """Validate and store (module docstring). Returns the stored settings (no secret)."""
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    inp = parse_body(body)
    if inp.kind is None:
        inp = _stored_input(env, inp.enabled)
    min_valid = timedelta(days=float(env.setting("automatic_collection.sas_min_valid_days", DEFAULT_MIN_VALID_DAYS)))
    if inp.kind is Kind.CONTAINER:
        if inp.enabled:
            settings = check_sas_offline(inp.location, now, min_valid)
        else:
            try:
                sas = parse_sas_url(inp.location)
            except SasUriError as e:
                raise SettingsError(e.error_id, e.message, "sasUrl") from None
            settings = Settings(False, Kind.CONTAINER, sas.container_url, None,
                                sas.expiry.isoformat() if sas.expiry else None, sas.permissions, now.isoformat())
        secret = inp.location
    else:
        from collector.sinks.smb import parse_unc

        try:
            unc = parse_unc(inp.location, int(env.setting("smb.port", 445)))
        except DestinationError as e:
            raise SettingsError(e.error_id, e.message, "share.path") from None
        settings = Settings(inp.enabled, Kind.SHARE, unc.display(), inp.user_name, None, None, now.isoformat())
        secret = inp.password
    if inp.enabled:
        _preflight(inp, env)
    folder = _folder(env)
    _write_secret(folder / SECRET_FILE, secret)
    atomic_write(folder / SETTINGS_FILE, json.dumps({**settings.to_json(), "enabled": inp.enabled}, indent=2))
    return Settings.from_json({**settings.to_json(), "enabled": inp.enabled})


def _write_secret(path: Path, secret: str) -> None:
    atomic_write(path, secret)  # mkstemp creates the temporary file 0600; the rename keeps it
    os.chmod(path, 0o600)


def _read_secret(env: EngineEnv) -> str | None:
    try:
        return (_folder(env) / SECRET_FILE).read_text(encoding="utf-8")
    except OSError:
        return None


def load(env: EngineEnv) -> Settings | None:
    try:
        data: dict[str, Any] = json.loads((_folder(env) / SETTINGS_FILE).read_text(encoding="utf-8"))
        return Settings.from_json(data)
    except (OSError, ValueError, KeyError):
        return None


def public_view(settings: Settings | None) -> dict[str, Any]:
    """The settings as the API shows them: never the signature or the password."""
    if settings is None:
        return {"enabled": False}
    if settings.kind is Kind.CONTAINER:
        names = ", ".join(PERMISSION_NAMES.get(c, c) for c in settings.sas_permissions or "")
        return {"enabled": settings.enabled, "sasUrl": settings.location, "sasExpiry": settings.sas_expiry,
                "sasPermissions": names or None, "saved": settings.saved}
    return {"enabled": settings.enabled, "share": {"path": settings.location, "userName": settings.user_name},
            "saved": settings.saved}


def destination(env: EngineEnv) -> Destination | None:
    """The destination of automatic collections when enabled (with its secret), else None."""
    settings = load(env)
    secret = _read_secret(env)
    if settings is None or not settings.enabled or secret is None:
        return None
    if settings.kind is Kind.CONTAINER:
        return Destination.container(secret)
    return Destination.share(settings.location, (settings.user_name or "", secret))


def sas_alerts(settings: Settings | None, now: datetime | None = None,
               warning: timedelta = timedelta(days=DEFAULT_WARNING_DAYS)) -> list[SasAlert]:
    """The SAS's own alerts for the alert list: at most one (expired wins). Only for an enabled
    container destination whose SAS names an expiry."""
    if settings is None or not settings.enabled or settings.kind is not Kind.CONTAINER or not settings.sas_expiry:
        return []
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    expiry = datetime.fromisoformat(settings.sas_expiry)
    shown = f"{expiry:%Y-%m-%d %H:%M} UTC"
    if expiry <= now:
        return [SasAlert("SAS URL has expired", EXPIRED_FAULT, "Critical",
                         f"The SAS URL of the automatic log collection container {settings.location} expired on {shown}. "
                         "Automatic collections cannot upload until a new SAS URL is saved in the automatic "
                         "collection settings.", expiry.isoformat())]
    if expiry - now <= warning:
        days = (expiry - now).total_seconds() / 86400
        return [SasAlert("Expiration date approaching", EXPIRING_FAULT, "Warning",
                         f"The SAS URL of the automatic log collection container {settings.location} expires on {shown} "
                         f"(in {days:.0f} days). Generate a new SAS URL (two years is recommended) and save it in the "
                         "automatic collection settings.", expiry.isoformat())]
    return []


def warning_lead(env: EngineEnv) -> timedelta:
    """How long before the expiry "Expiration date approaching" is raised (configurable)."""
    return timedelta(days=float(env.setting("automatic_collection.sas_warning_days", DEFAULT_WARNING_DAYS)))
