"""Where logs come from: the folders of a generated stamp (`hosts/<host>/<Role>/...`), seen as the
engine would see a remote host. This is the I/O edge; faults from configuration are applied here.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from io import FileIO
from pathlib import Path

from collector.faults import Faults
from collector.logkinds import Listed, NameRuling
from collector.stampgen import HOSTS_DIR
from collector.timefmt import first_record_time

HEAD_BYTES = 4096


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _utc_ms(ns: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ns // 1_000_000)


def _ns(t: datetime) -> int:
    """The smallest mtime in ns that _utc_ms turns into `t` or later."""
    d = t - _EPOCH
    ms = (d.days * 86400 + d.seconds) * 1000 + -(-d.microseconds // 1000)
    return ms * 1_000_000


class HostUnreachable(Exception):
    def __init__(self, host: str):
        super().__init__(
            f"Connecting to remote server {host} failed with the following error message : WinRM cannot complete "
            "the operation. Verify that the specified computer name is valid, that the computer is accessible over "
            "the network, and that a firewall exception for the WinRM service is enabled and allows access from "
            "this computer."
        )
        self.host = host


class FileUnreadable(Exception):
    pass


class StampSource:
    def __init__(self, root: Path, faults: Faults | None = None):
        self.root = Path(root)
        self.faults = faults or Faults()
        self._hosts = str(self.root / HOSTS_DIR)

    def unit_dir(self, host: str, unit: str) -> Path:
        return self.root / HOSTS_DIR / host / unit

    def reachable(self, host: str) -> bool:
        return not self.faults.unreachable(host)

    def list_unit(self, host: str, unit: str) -> list[Listed]:
        """Every file of one role on one host (names, sizes, last-write times; no content)."""
        return self.list_unit_pruned(host, unit)[0]

    def list_unit_pruned(self, host: str, unit: str, prune: Callable[[list[str]], set[str]] | None = None
                         ) -> tuple[list[Listed], list[str]]:
        """(listing without the files `prune` rules out by name, relpaths of every file)."""
        if self.faults.unreachable(host):
            raise HostUnreachable(host)
        self._slow(host)
        out: list[Listed] = []
        names: list[str] = []
        self._walk(str(self.unit_dir(host, unit)), "", out, names, prune)
        return out, names

    def _walk(self, path: str, prefix: str, out: list[Listed], names: list[str],
              prune: Callable[[list[str]], set[str]] | None) -> None:
        # scandir + string paths: listing must stay cheap when a stamp holds weeks of rolled logs
        try:
            with os.scandir(path) as it:
                entries = {e.name: e for e in it}
        except FileNotFoundError:
            return
        order = sorted(entries)  # sort plain names, not entries through a key function: weeks of rolls
        dirs = [n for n in order if entries[n].is_dir(follow_symlinks=False)]
        files = [n for n in order if n not in dirs] if dirs else order
        ruling = prune(files) if prune else set()
        skip = set(ruling)
        stats = self._walk_series(entries, ruling, skip)
        for n in dirs:
            self._walk(entries[n].path, f"{prefix}{n}/", out, names, prune)
        names.extend(prefix + n for n in files)
        for n in files:
            e = entries[n]
            if n not in skip:
                st = stats[n] if n in stats else self._stat(e)
                if st is not None:  # gone since the listing: nothing to collect
                    out.append(Listed(prefix + n, st.st_size, _utc_ms(st.st_mtime_ns)))

    @staticmethod
    def _stat(e: os.DirEntry[str]) -> os.stat_result | None:
        try:
            return e.stat()
        except FileNotFoundError:
            return None

    def _walk_series(self, entries: dict[str, os.DirEntry[str]], ruling: set[str],
                     skip: set[str]) -> dict[str, os.stat_result | None]:
        """Rolled text series (logkinds.NameRuling.series), newest first: stat until the first file last
        written before the window, then the oldest; the ones between go into `skip` unstat'ed.
        Returns the stats taken."""
        if not isinstance(ruling, NameRuling) or not ruling.series:
            return {}
        series, limit_ns = ruling.series, _ns(ruling.not_before)
        stats: dict[str, os.stat_result | None] = {}
        for names in series:
            for i, n in enumerate(names):
                st = self._stat(entries[n])
                stats[n] = st
                if st is not None and st.st_mtime_ns < limit_ns:
                    rest = names[i + 1:]
                    if rest:
                        # Check the order at the far end: a logger numbering the other way round (newest
                        # archive highest) shows here, and then every file is stat'ed and judged.
                        oldest = stats[rest[-1]] = self._stat(entries[rest[-1]])
                        if oldest is not None and oldest.st_mtime_ns <= st.st_mtime_ns:
                            skip.update(rest[:-1])
                    break
        return stats

    def first_record_time(self, host: str, unit: str, f: Listed) -> datetime | None:
        """Read only the first few KB of a text log for its first record time."""
        if self.faults.unreadable(host, unit, f.relpath):
            return None
        try:
            with open(os.path.join(self._hosts, host, unit, f.relpath), "rb", buffering=0) as fh:
                return first_record_time(fh.read(HEAD_BYTES))
        except OSError:
            return None

    def open(self, host: str, unit: str, relpath: str) -> FileIO:
        if self.faults.unreachable(host):
            raise HostUnreachable(host)
        self._slow(host)
        path = os.path.join(self._hosts, host, unit, relpath)  # a string: pathlib costs more than the open here
        if self.faults.unreadable(host, unit, relpath):
            raise FileUnreadable(f"Access to the path '\\\\{host}\\{unit}\\{relpath.replace('/', chr(92))}' is denied.")
        try:
            # Unbuffered: the engine reads in blocks of its own, and a buffered reader costs three more
            # system calls per file (a tty check, a seek, a second stat) across thousands of small logs.
            return open(path, "rb", buffering=0)
        except OSError as e:
            raise FileUnreadable(f"Cannot read '\\\\{host}\\{unit}\\{relpath.replace('/', chr(92))}': {e.strerror}") from None

    def _slow(self, host: str) -> None:
        d = self.faults.delay(host)
        if d:
            time.sleep(d)
