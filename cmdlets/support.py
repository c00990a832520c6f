"""The support-session unlock ("break glass", reference §5.7) and what an unlocked session sees.

Get-SupportSessionToken makes a request token for Microsoft Support (common/support_token.py:
a random session id and a one-time X25519 key pair, sealed to the support public key); the session
keeps the one-time private key. Support (`pep support respond`) answers with a response token
sealed to that one-time key and signed by the support key. Unlock-SupportSession accepts a response
for a request of THIS session once, and grants the session the read-only diagnostic cmdlets in
ELEVATED_CMDLETS for 8 hours (`support.elevation_hours`); closing the session ends it.

Refusals, each with its own FullyQualifiedErrorId (docs/support-session.md):
SupportSessionTokenMalformed, SupportSessionTokenTampered, SupportSessionTokenReplayed,
SupportSessionTokenForeign, SupportSessionTokenExpired; SupportKeyNotConfigured when the stamp
has no support public key.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, NoReturn

from cmdlets.support_diagnostics import ELEVATED_CMDLETS
from common import support_token
from powershell.commands import AS_JOB, Cmdlet, Example, Parameter
from powershell.objects import ErrorCategory, custom_object
from powershell.pipeline import CommandContext

INFO_TYPE = "Microsoft.AzureStack.PrivilegedEndpointSecurity.PepCmdlets.AzureStackSupportSessionInfo"
DEFAULT_TOKEN_VALID_MINUTES = 24 * 60        # how long support has to answer a request
DEFAULT_ELEVATION_HOURS = 8                  # reference §5.7


@dataclass
class _Request:
    request: support_token.SupportRequest
    one_time: Any  # the one-time X25519 private key; never leaves this process


@dataclass
class SupportSessionState:
    """One runspace's support session (Runspace.support_session)."""

    requests: dict[str, _Request] = field(default_factory=dict)  # open requests, by session id
    last_request: support_token.SupportRequest | None = None     # the latest, open or used
    elevated_request: support_token.SupportRequest | None = None
    elevated_at: datetime | None = None
    elevated_until: datetime | None = None


def _state(ctx: CommandContext) -> SupportSessionState:
    rs = ctx.runspace
    if not isinstance(rs.support_session, SupportSessionState):
        rs.support_session = SupportSessionState()
    return rs.support_session


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _number(ctx: CommandContext, key: str, default: float) -> float:
    value = ctx.runspace.env.setting(key, default)
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = -1.0
    if not number > 0:
        ctx.throw(f"The configuration key '{key}' must be a positive number, not '{value}'.",
                  "SupportConfigurationInvalid", ErrorCategory.InvalidData, target=key)
    return number


def public_key_path(env: Any) -> Path:
    """`support.public_key_file`, else the key `pep support keygen` writes into the state directory."""
    configured = env.setting("support.public_key_file")
    if configured:
        return Path(os.path.expanduser(str(configured)))
    return Path(env.state.path) / support_token.DEFAULT_KEY_FOLDER / support_token.PUBLIC_KEY_NAME


def _support_key(ctx: CommandContext) -> Any:
    path = public_key_path(ctx.runspace.env)
    if not path.is_file():
        ctx.throw(f"No support public key is configured for this stamp: '{path}' does not exist. Create one with "
                  "'pep support keygen', or set support.public_key_file in the configuration.",
                  "SupportKeyNotConfigured", ErrorCategory.ResourceUnavailable, target=str(path))
    try:
        return support_token.load_public_key(path)
    except support_token.TokenError as e:
        ctx.throw(e.message, "SupportKeyNotConfigured", ErrorCategory.ResourceUnavailable, target=str(path))


def _used_marker(ctx: CommandContext, session_id: str) -> Path:
    return ctx.runspace.env.state.sub("support-sessions", "used") / session_id


class GetSupportSessionToken(Cmdlet):
    name = "Get-SupportSessionToken"
    synopsis = "Creates a support-session request token to send to Microsoft Support."
    description = (
        "Returns a request token: a random session id, a one-time key pair and an expiry, encrypted to the "
        "public key of the support organisation the stamp trusts. Send the token to Microsoft Support; run "
        "Unlock-SupportSession with their response token in this same session. -Development marks the request "
        "for a development support environment."
    )
    output_type = "System.String"
    parameters = (
        Parameter("Development", "switch", help="Marks the request for a development support environment."),
        AS_JOB,
    )
    examples = (Example("Create a request token for Microsoft Support", "Get-SupportSessionToken"),)

    def invoke(self, ctx: CommandContext, params: dict[str, Any], input: list | None = None) -> None:
        key = _support_key(ctx)
        valid = _number(ctx, "support.token_valid_minutes", DEFAULT_TOKEN_VALID_MINUTES)
        issued = _now()
        token, request, one_time = support_token.new_request(
            key, stamp=ctx.runspace.env.stamp.name, issued=issued, expires=issued + timedelta(minutes=valid),
            development=bool(params.get("Development")))
        state = _state(ctx)
        state.requests[request.session_id] = _Request(request, one_time)
        state.last_request = request
        ctx.write_verbose(f"Support session {request.session_id} requested; the token expires "
                          f"{request.expires:%Y-%m-%d %H:%M:%S} UTC.")
        ctx.write_output(token)


class UnlockSupportSession(Cmdlet):
    name = "Unlock-SupportSession"
    synopsis = "Unlocks this session with a support response token."
    description = (
        "Accepts the response token Microsoft Support returned for a request token made in this session, once, "
        "and elevates this session for 8 hours: the support diagnostic cmdlets become available. The session "
        "returns to a normal PEP session when the time is up or when it is closed."
    )
    parameters = (
        Parameter("ResponseToken", "string", position=0, mandatory=True, syntax_type="object",
                  help="The response token from Microsoft Support."),
        AS_JOB,
    )
    examples = (Example("Unlock the session with the token support returned", "Unlock-SupportSession"),)

    def invoke(self, ctx: CommandContext, params: dict[str, Any], input: list | None = None) -> None:
        key = _support_key(ctx)
        hours = _number(ctx, "support.elevation_hours", DEFAULT_ELEVATION_HOURS)  # before the token is spent
        state = _state(ctx)
        try:
            signed = support_token.check_response(params["ResponseToken"], key)
        except support_token.TokenError as e:
            self._refuse(ctx, e)
        session_id = signed.session_id
        if _used_marker(ctx, session_id).exists():
            ctx.throw(f"The response token for support session {session_id} was already used. A response token "
                      "unlocks one session once; request a new token with Get-SupportSessionToken.",
                      "SupportSessionTokenReplayed", ErrorCategory.InvalidOperation, target=session_id)
        pending = state.requests.get(session_id)
        if pending is None:
            why = ("This session has not requested a support session yet (Get-SupportSessionToken)."
                   if not state.requests else "It answers a request made in another session.")
            ctx.throw(f"The response token is for support session {session_id}, not for this session. {why}",
                      "SupportSessionTokenForeign", ErrorCategory.PermissionDenied, target=session_id)
        try:
            response = support_token.open_response(signed, pending.one_time)
        except support_token.TokenError as e:
            self._refuse(ctx, e)
        now = _now()
        expired = min(response.expires, pending.request.expires)
        if now >= expired:
            ctx.throw(f"The response token for support session {session_id} expired at "
                      f"{expired:%Y-%m-%d %H:%M:%S} UTC. Request a new token with Get-SupportSessionToken.",
                      "SupportSessionTokenExpired", ErrorCategory.OperationTimeout, target=session_id)
        try:  # consuming is an exclusive create: two sessions cannot both use one token
            fd = os.open(_used_marker(ctx, session_id), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            ctx.throw(f"The response token for support session {session_id} was already used.",
                      "SupportSessionTokenReplayed", ErrorCategory.InvalidOperation, target=session_id)
        with os.fdopen(fd, "w") as f:
            f.write(f"{now.isoformat()} {ctx.runspace.user}\n")
        del state.requests[session_id]  # the one-time key has done its job
        until = now + timedelta(hours=hours)
        state.elevated_request, state.elevated_at, state.elevated_until = pending.request, now, until
        ctx.runspace.grant_commands(ELEVATED_CMDLETS, until)
        ctx.write_host(f"Support session {session_id} unlocked until {until:%Y-%m-%d %H:%M:%S} UTC. Diagnostic "
                       f"cmdlets available: {', '.join(c.name for c in ELEVATED_CMDLETS)}.")

    @staticmethod
    def _refuse(ctx: CommandContext, e: support_token.TokenError) -> NoReturn:
        if e.kind == "tampered":
            ctx.throw(e.message, "SupportSessionTokenTampered", ErrorCategory.SecurityError)
        ctx.throw(e.message, "SupportSessionTokenMalformed", ErrorCategory.InvalidArgument)


class GetSupportSessionInfo(Cmdlet):
    name = "Get-SupportSessionInfo"
    synopsis = "Shows the state of this session's support-session unlock."
    description = (
        "Returns the support session of this PEP session: its id, when the last request token was issued "
        "and when it expires, and until when the session is elevated."
    )
    output_type = INFO_TYPE
    parameters = (AS_JOB,)
    examples = (Example("Show whether this session is unlocked", "Get-SupportSessionInfo"),)

    def invoke(self, ctx: CommandContext, params: dict[str, Any], input: list | None = None) -> None:
        state = _state(ctx)
        now = _now()
        elevated = state.elevated_until is not None and now < state.elevated_until
        shown = state.elevated_request if elevated else state.last_request
        if elevated:
            status = "Elevated"
        elif shown is not None and shown.session_id in state.requests:
            status = "TokenExpired" if now >= shown.expires else "TokenRequested"
        elif state.elevated_until is not None:
            status = "ElevationEnded"
        else:
            status = "NotRequested"
        ctx.write_output(custom_object(
            INFO_TYPE,
            SessionId=shown.session_id if shown else None,
            State=status,
            TokenIssued=shown.issued if shown else None,
            TokenExpiry=shown.expires if shown else None,
            Elevated=elevated,
            ElevatedSince=state.elevated_at if elevated else None,
            ElevatedUntil=state.elevated_until if elevated else None,
        ))


CMDLETS = (GetSupportSessionToken, UnlockSupportSession, GetSupportSessionInfo)
