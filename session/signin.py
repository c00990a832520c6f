"""The one sign-in rule for every network front end (`pep serve` today, Help + Support next).

* Passwords (Basic) are checked off the event loop, on a small pool of their own, so guessing
  cannot stall other requests; an unknown user costs the same scrypt work as a known one.
* An account is locked after `threshold` failed sign-ins within `window` seconds, for `lockout`
  seconds. While locked, even the right password is refused. Locked, unknown and wrong all get the
  same answer (the caller sends one 401), and every failure answer is delayed by `failure_delay`
  seconds without holding a thread.
* Unknown names are counted like accounts (under the name typed), so spraying names is no cheaper;
  the table is bounded.
* Every failure and every lockout is logged (user name and peer address, never a password).
Defaults follow current Windows: 10 failures in 10 minutes lock the account for 10 minutes.
Configuration: signin.lockout_threshold, signin.failure_window_minutes, signin.lockout_minutes,
signin.failure_delay_seconds. A restart of the process clears lockouts.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger("pep.signin")

_MAX_TRACKED = 10_000


class PasswordChecker(Protocol):
    def verify(self, user: str, password: str, *, cached: bool = True) -> str | None: ...
    def lockout_key(self, user: str) -> str: ...


@dataclass(frozen=True)
class LockoutPolicy:
    threshold: int = 10
    window: float = 600.0
    lockout: float = 600.0
    failure_delay: float = 1.0

    @classmethod
    def from_settings(cls, setting: Callable[[str, Any], Any]) -> LockoutPolicy:
        d = cls()
        return cls(
            threshold=max(1, int(setting("signin.lockout_threshold", d.threshold))),
            window=float(setting("signin.failure_window_minutes", d.window / 60)) * 60,
            lockout=float(setting("signin.lockout_minutes", d.lockout / 60)) * 60,
            failure_delay=max(0.0, float(setting("signin.failure_delay_seconds", d.failure_delay))),
        )


@dataclass
class _Record:
    failures: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0


def printable(name: str, limit: int = 64) -> str:
    """A user name as it may appear in a log line: no control characters, bounded length."""
    clean = "".join(c if c.isprintable() else "?" for c in name[:limit])
    return clean + ("..." if len(name) > limit else "")


class SignInGate:
    """Lockout bookkeeping and password checks for one account store. Thread-safe."""

    def __init__(self, accounts: PasswordChecker, policy: LockoutPolicy | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.accounts = accounts
        self.policy = policy or LockoutPolicy()
        self.clock = clock
        self._lock = threading.Lock()
        self._records: OrderedDict[str, _Record] = OrderedDict()
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="pep-signin")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- lockout ---------------------------------------------------------------------------
    def is_locked(self, user: str) -> bool:
        key = self.accounts.lockout_key(user)
        with self._lock:
            rec = self._records.get(key)
            return rec is not None and rec.locked_until > self.clock()

    def failed(self, user: str, peer: str, method: str, reason: str = "wrong credentials") -> None:
        key = self.accounts.lockout_key(user)
        now = self.clock()
        with self._lock:
            rec = self._records.pop(key, None) or _Record()
            self._records[key] = rec  # most recent last, so the oldest is evicted first
            while len(self._records) > _MAX_TRACKED:
                self._records.popitem(last=False)
            while rec.failures and rec.failures[0] <= now - self.policy.window:
                rec.failures.popleft()
            rec.failures.append(now)
            newly_locked = rec.locked_until <= now and len(rec.failures) >= self.policy.threshold
            if newly_locked:
                rec.locked_until = now + self.policy.lockout
                rec.failures.clear()
        log.warning("sign-in refused: user %r from %s (%s): %s", printable(user), peer or "?", method, reason)
        if newly_locked:
            log.warning("account %r locked for %d minutes after %d failed sign-ins (last from %s)",
                        printable(user), round(self.policy.lockout / 60), self.policy.threshold, peer or "?")

    def succeeded(self, user: str) -> None:
        key = self.accounts.lockout_key(user)
        with self._lock:
            self._records.pop(key, None)

    async def refuse(self) -> None:
        """Wait before answering a failed sign-in (holds no thread)."""
        if self.policy.failure_delay > 0:
            await asyncio.sleep(self.policy.failure_delay)

    # -- Basic -----------------------------------------------------------------------------
    async def basic(self, user: str, password: str, peer: str) -> str | None:
        """The canonical account name when the password is right and the account is not locked."""
        loop = asyncio.get_running_loop()
        locked = self.is_locked(user)
        # A locked account does the full work too (no cache), so timing cannot tell a right guess.
        name = await loop.run_in_executor(self._pool, lambda: self.accounts.verify(user, password, cached=not locked))
        if name is None or locked:
            self.failed(user, peer, "Basic", "account locked" if locked else "wrong credentials")
            return None
        self.succeeded(user)
        return name
