"""The page's sign-in sessions and CSRF tokens (the API's scripts use HTTP Basic instead).

A session is a random token (32 bytes, URL-safe) in an HttpOnly, SameSite=Strict cookie (Secure
on HTTPS); the server keeps token -> (user, CSRF token, expiry) in memory, so a restart signs
everybody out. A session ends after `idle` seconds without a request or `lifetime` seconds after
sign-in, whichever comes first. Every form post carries the session's CSRF token; the sign-in form,
posted before there is a session, carries a token that must match a short-lived cookie of its own
(double submit).
"""
from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

COOKIE = "pep_portal_session"
SIGNIN_COOKIE = "pep_portal_signin"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
_MAX_SESSIONS = 1000


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
                 clock: Callable[[], float] = time.monotonic):
        self.idle, self.lifetime, self.clock = idle, lifetime, clock
        self._lock = threading.Lock()
        self._table: OrderedDict[str, Session] = OrderedDict()

    def create(self, user: str) -> tuple[str, Session]:
        now = self.clock()
        token, session = new_token(), Session(user, new_token(), now, now)
        with self._lock:
            self._table[token] = session
            while len(self._table) > _MAX_SESSIONS:
                self._table.popitem(last=False)  # the oldest sign-in goes first
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
            return session

    def end(self, token: str | None) -> None:
        if token:
            with self._lock:
                self._table.pop(token, None)

    def __len__(self) -> int:
        return len(self._table)
