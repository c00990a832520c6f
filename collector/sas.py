"""Container SAS URLs: parse them, check them offline, and keep their signatures out of every log.

Two URL shapes are understood:
  https://ACCOUNT.blob.core.windows.net/CONTAINER?sv=..&sp=..&se=..&sig=..   (host names the account;
      also Azure Stack Hub's https://ACCOUNT.blob.<region>.<fqdn>/CONTAINER)
  http://127.0.0.1:10000/ACCOUNT/CONTAINER?...                               (path style: an IP
      address or localhost as host, as Azurite serves it)
The signature (`sig`) is the only secret in a SAS; redact() removes it (common.redact does the work).
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from collector.errors import Category, DestinationError
from common.redact import redact as _redact

# Query parameters that carry a secret (the SAS signature, or tokens/keys some tools append).
_SECRET_PARAMS = {"sig", "signature", "token", "access_token", "code", "key", "accountkey", "password"}

# Letters of `sp` and the names the Azure portal / Storage Explorer show for them.
PERMISSION_NAMES = {"r": "Read", "a": "Add", "c": "Create", "w": "Write", "d": "Delete", "l": "List",
                    "t": "Tag", "x": "Delete version", "y": "Permanent delete", "m": "Move", "e": "Execute",
                    "i": "Set immutability policy", "f": "Filter", "p": "Process", "u": "Update"}


class SasUriError(DestinationError):
    """A SAS URL that cannot be used, found without contacting the server."""

    def __init__(self, message: str, error_id: str = "InvalidSasUri", category: Category = Category.InvalidArgument):
        super().__init__(message, error_id, category)


@dataclass
class SasUri:
    scheme: str
    host: str            # host[:port]
    account: str
    container: str
    endpoint: str        # the account's blob endpoint, e.g. https://acct.blob.core.windows.net
    query: dict[str, str] = field(repr=False)  # decoded query parameters, names lower-case

    @property
    def container_url(self) -> str:
        """The container URL without any query (safe to print)."""
        return f"{self.endpoint}/{self.container}"

    @property
    def has_signature(self) -> bool:
        return bool(self.query.get("sig"))

    @property
    def permissions(self) -> str | None:
        return self.query.get("sp")

    @property
    def resource(self) -> str | None:
        return self.query.get("sr")

    @property
    def version(self) -> str | None:
        return self.query.get("sv")

    @property
    def expiry(self) -> datetime | None:
        return _sas_time(self.query.get("se"), "se")

    @property
    def start(self) -> datetime | None:
        return _sas_time(self.query.get("st"), "st")

    def missing_permissions(self, needed: str) -> str:
        """Letters of `needed` that `sp` does not grant ('' when `sp` is absent: a stored access
        policy may grant them; the server decides)."""
        sp = self.permissions
        if sp is None:
            return ""
        return "".join(c for c in needed if c not in sp)

    def check(self, needed: str = "rwl", now: datetime | None = None) -> None:
        """Offline checks: signature present, a container SAS, time window valid now, permissions.
        Raises SasUriError with a message that never contains the signature."""
        shown = self.container_url
        if not self.has_signature:
            raise SasUriError(f"The SAS URI '{shown}' carries no signature (sig). Generate a container SAS "
                              "with Read, Write and List permissions and pass the whole URL.")
        if self.resource and self.resource != "c":
            raise SasUriError(f"The SAS URI '{shown}' is not a container SAS (sr={self.resource}); "
                              "a container-level SAS (sr=c) is required.")
        ss, srt = self.query.get("ss"), self.query.get("srt")
        if ss is not None and "b" not in ss:
            raise SasUriError(f"The SAS URI '{shown}' does not grant access to the Blob service (ss={ss}).")
        if srt is not None and not ("c" in srt and "o" in srt):
            raise SasUriError(f"The SAS URI '{shown}' must grant the container and object resource types (srt={srt}).")
        now = now or datetime.now(timezone.utc)
        expiry, start = self.expiry, self.start
        if expiry is not None and expiry <= now:
            raise SasUriError(f"The SAS URI '{shown}' expired at {_fmt(expiry)} (now {_fmt(now)}). "
                              "Generate a new SAS with a later expiry time.", "SasUriExpired")
        if start is not None and start > now:
            raise SasUriError(f"The SAS URI '{shown}' is not valid before {_fmt(start)} (now {_fmt(now)}).",
                              "SasUriNotYetValid")
        missing = self.missing_permissions(needed)
        if missing:
            names = ", ".join(PERMISSION_NAMES.get(c, c) for c in missing)
            raise SasUriError(f"The SAS URI '{shown}' does not grant the {names} permission(s) "
                              f"(sp={self.permissions}); {', '.join(PERMISSION_NAMES[c] for c in needed)} are required.",
                              "SasUriPermissionDenied", Category.PermissionDenied)

    def url_without_secrets(self) -> str:
        q = "&".join(f"{k}={quote(v, safe=':')}" for k, v in self.query.items() if k not in _SECRET_PARAMS)
        return f"{self.container_url}?{q}" if q else self.container_url


def parse_sas_url(url: str) -> SasUri:
    """Parse a container SAS URL. Raises SasUriError (InvalidSasUri)."""
    if not isinstance(url, str) or not url.strip():
        raise SasUriError("The SAS URI is empty.")
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError on a bad port
    except ValueError:
        raise SasUriError(f"The SAS URI '{redact(url)}' is not a valid URL.") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise SasUriError(f"The SAS URI '{redact(url)}' is not an http(s) URL of a blob container.")
    host = parts.hostname.lower()
    hostport = f"{host}:{port}" if port else host
    if ":" in host:  # IPv6 literal needs its brackets back
        hostport = f"[{host}]:{port}" if port else f"[{host}]"
    segments = [unquote(s) for s in parts.path.split("/") if s]
    if _path_style(host):
        if len(segments) != 2:
            raise SasUriError(f"The SAS URI '{redact(url)}' must name an account and a container "
                              "(http://host:port/ACCOUNT/CONTAINER?...).")
        account, container = segments
        endpoint = f"{parts.scheme.lower()}://{hostport}/{quote(account)}"
    else:
        if len(segments) != 1:
            raise SasUriError(f"The SAS URI '{redact(url)}' must point to a blob container "
                              "(https://ACCOUNT.blob.core.windows.net/CONTAINER?...).")
        account, container = host.split(".")[0], segments[0]
        endpoint = f"{parts.scheme.lower()}://{hostport}"
    if not re.fullmatch(r"\$root|\$web|\$logs|[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}", container):
        raise SasUriError(f"The SAS URI '{redact(url)}' names an invalid container '{container}'.")
    query: dict[str, str] = {}
    for k, v in parse_qsl(parts.query, keep_blank_values=True):
        query[k.lower()] = v
    sas = SasUri(parts.scheme.lower(), hostport, account, container, endpoint, query)
    # Validate the times now so a malformed se/st is reported as an invalid URI, not later.
    _ = sas.expiry, sas.start
    return sas


def _path_style(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def _sas_time(value: str | None, name: str) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        t = datetime.fromisoformat(value.strip().replace("z", "Z"))
    except ValueError:
        raise SasUriError(f"The SAS URI has an invalid time '{name}={value}' (expected ISO 8601 UTC, "
                          "e.g. 2026-11-25T08:00:00Z).") from None
    return t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t.astimezone(timezone.utc)


def _fmt(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- redaction -------------------------------------------------------------------------------

def redact(url: str) -> str:
    """The URL with its signature (and any token/key parameter) replaced by REDACTED; safe to
    print and log. Works on URLs that do not parse too. The rule is common.redact's, the one
    redactor of every log."""
    return _redact(url)
