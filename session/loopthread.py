"""A server (the PSRP listener, the Help + Support portal) on its own event loop in a daemon
thread, for tests and benchmarks: start() returns once it listens, stop() waits for its cleanup."""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, Generic, Protocol, TypeVar


class Server(Protocol):
    def start(self, host: str, port: int) -> Coroutine[Any, Any, Any]: ...

    def stop(self) -> Coroutine[Any, Any, Any]: ...


S = TypeVar("S", bound=Server)
T = TypeVar("T", bound="LoopThread[Any]")


class LoopThread(Generic[S]):
    def __init__(self, server: S, host: str, port: int, name: str):
        self.server = server
        self._host, self._port = host, port
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)

    def start(self: T) -> T:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(self._host, self._port), self.loop).result(30)
        return self

    def call(self, fn: Any, *args: Any) -> Any:
        """Run fn(*args) on the server's loop and return its result (inspect state from tests)."""
        async def run() -> Any:
            return fn(*args)
        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(30)

    def stop(self) -> None:
        try:
            asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(30)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)

    def __enter__(self: T) -> T:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
