"""The page's sign-in sessions and CSRF tokens (the API's scripts use HTTP Basic instead).

A session is a random token (32 bytes, URL-safe) in an HttpOnly, SameSite=Strict cookie (Secure
on HTTPS); the server keeps token -> (user, CSRF token, expiry) in memory, so a restart signs
everybody out. A session ends after `idle` seconds without a request or `lifetime` seconds after
sign-in, whichever comes first. Every form post carries the session's CSRF token; the sign-in form,
posted before there is a session, carries a token that must match a short-lived cookie of its own
(double submit).

Limits (docs/accounts.md, Session limits): a user holds at most `max_per_user` sessions and the
service `max_total` in all; a sign-in over either ends the oldest session (of that user, else of
anybody) instead of being refused, because a browser's session cannot be closed once its cookie is
lost, and a refusal would lock its user out until the idle timeout. A session whose account was
removed ends at its next request (`valid_user`).
"""
from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

COOKIE = "pep_portal_session"
SIGNIN_COOKIE = "pep_portal_signin"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
MAX_PER_USER = 25  # as the listener's listener.max_shells_per_user (WinRM's MaxShellsPerUser)
MAX_TOTAL = 300  # as the listener's listener.max_shells (WinRM's MaxShells)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def same(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two tokens; an empty or missing token never matches."""
    return bool(a) and bool(b) and hmac.compare_digest(str(a).encode(), str(b).encode())


@dataclass
class Session:
    user: str
    csrf: str
    started: float
    last_seen: float


class Sessions:
    """Signed-in sessions of the page. Thread-safe."""

    def __init__(self, idle: float = 1800.0, lifetime: float = 8 * 3600.0,
                 clock: Callable[[], float] = time.monotonic, *, max_per_user: int = MAX_PER_USER,
                 max_total: int = MAX_TOTAL, valid_user: Callable[[str], bool] | None = None):
        self.idle, self.lifetime, self.clock = idle, lifetime, clock
        self.max_per_user, self.max_total = max(1, max_per_user), max(1, max_total)
        self.valid_user = valid_user
        self._lock = threading.Lock()
        self._table: OrderedDict[str, Session] = OrderedDict()

    @classmethod
    def from_settings(cls, setting: Callable[[str, Any], Any], valid_user: Callable[[str], bool] | None = None,
                      ) -> Sessions:
        """portal.session_idle_minutes (30), portal.session_hours (8), portal.max_sessions_per_user (25),
        portal.max_sessions (300)."""
        return cls(idle=float(setting("portal.session_idle_minutes", 30)) * 60,
                   lifetime=float(setting("portal.session_hours", 8)) * 3600,
                   max_per_user=int(setting("portal.max_sessions_per_user", MAX_PER_USER)),
                   max_total=int(setting("portal.max_sessions", MAX_TOTAL)), valid_user=valid_user)

    def create(self, user: str) -> tuple[str, Session]:
        now = self.clock()
        token, session = new_token(), Session(user, new_token(), now, now)
        with self._lock:
            mine = [t for t, s in self._table.items() if s.user.lower() == user.lower()]
            for old in mine[: max(0, len(mine) - self.max_per_user + 1)]:
                del self._table[old]  # this user's oldest sign-ins go first
            while len(self._table) >= self.max_total:
                self._table.popitem(last=False)  # then anybody's oldest
            self._table[token] = session
        return token, session

    def get(self, token: str | None) -> Session | None:
        """The live session of a cookie (its idle clock restarts), or None."""
        if not token:
            return None
        now = self.clock()
        with self._lock:
            session = self._table.get(token)
            if session is None:
                return None
            if now - session.last_seen > self.idle or now - session.started > self.lifetime:
                del self._table[token]
                return None
            session.last_seen = now
        if self.valid_user is not None and not self.valid_user(session.user):
            self.end(token)  # the account was removed since it signed in
            return None
        return session

    def end(self, token: str | None) -> None:
        if token:
            with self._lock:
                self._table.pop(token, None)

    def __len__(self) -> int:
        return len(self._table)
