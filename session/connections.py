"""Connection limits in front of the HTTP server: how many, from whom, and how slow.

aiohttp bounds an idle keep-alive connection (keepalive_timeout) but not how many connections one
client holds nor how long a connection may stay without signing in. Every protocol the server
makes is wrapped in a guard that
* refuses a connection over `per_client` from one address, or over `total` in all (closed at once,
  as HTTP.sys does when its queue is full);
* closes a connection that has not signed in within `sign_in` seconds of opening (slow or missing
  headers, an abandoned handshake, a refused sign-in). A signed-in connection is kept alive for the
  keep-alive timeout: NTLM's sealing keys live on it, and pypsrp cannot sign in again on a new
  connection in the middle of an encrypted session.
"""
from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConnectionLimits:
    per_client: int = 32
    total: int = 300  # WinRM's MaxConnections default
    sign_in: float = 30.0

    @classmethod
    def from_settings(cls, setting: Callable[[str, Any], Any]) -> ConnectionLimits:
        d = cls()
        return cls(
            per_client=max(1, int(setting("listener.max_connections_per_client", d.per_client))),
            total=max(1, int(setting("listener.max_connections", d.total))),
            sign_in=float(setting("listener.sign_in_timeout_seconds", d.sign_in)),
        )


class ConnectionGuard:
    """Counts open connections per address; makes guarded protocols for asyncio's create_server."""

    def __init__(self, limits: ConnectionLimits, inner_factory: Callable[[], asyncio.Protocol],
                 signed_in: Callable[[Any], bool]):
        self.limits = limits
        self.inner_factory = inner_factory
        self.signed_in = signed_in  # whether this transport's caller has signed in
        self.open: Counter[str] = Counter()

    def __call__(self) -> asyncio.Protocol:
        return _Guarded(self, self.inner_factory())

    def admit(self, address: str) -> bool:
        if self.open[address] >= self.limits.per_client or sum(self.open.values()) >= self.limits.total:
            return False
        self.open[address] += 1
        return True

    def release(self, address: str) -> None:
        self.open[address] -= 1
        if self.open[address] <= 0:
            del self.open[address]


class _Guarded(asyncio.Protocol):
    def __init__(self, guard: ConnectionGuard, inner: asyncio.Protocol):
        self.guard = guard
        self.inner = inner
        self.address: str | None = None
        self.deadline: asyncio.TimerHandle | None = None

    def connection_made(self, base: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, base)  # a stream server's transports can abort
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if peer else "?"
        if not self.guard.admit(address):
            log.warning("connection from %s refused: over the connection limit", address)
            transport.abort()
            return
        self.address = address
        self.deadline = asyncio.get_running_loop().call_later(
            self.guard.limits.sign_in, self._sign_in_due, transport)
        self.inner.connection_made(transport)

    def _sign_in_due(self, transport: asyncio.Transport) -> None:
        if not self.guard.signed_in(transport) and not transport.is_closing():
            log.info("connection from %s closed: not signed in within %.0f s", self.address,
                     self.guard.limits.sign_in)
            transport.abort()

    def data_received(self, data: bytes) -> None:
        if self.address is not None:
            self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self.address is not None else None

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.address is None:
            return
        if self.deadline is not None:
            self.deadline.cancel()
        self.guard.release(self.address)
        self.address = None
        self.inner.connection_lost(exc)
