"""The deflate compressor for zip entries, how hard it works, and which files it skips.

Backends: ISA-L (python-isal) for the fast levels, zlib-ng for the higher ones, zlib when neither
is installed. All produce standard raw deflate streams (any unzip reads them) and release the GIL
while compressing, so zips built on several threads compress in parallel.

Measured on the generated stamps' logs (text logs, ETW traces, event logs that compress like real
ones, docs/collection.md "Speed"; 60 MB of the 200 MB benchmark stamp), CPU time on one core of this
machine (speeds vary with its load; the ratios do not):

    ISA-L 1     605 MB/s   ratio 0.191      (ISA-L 2: the same; ISA-L 3: 0.187 at 265 MB/s)
    zlib-ng 5   138 MB/s   ratio 0.151
    zlib-ng 6   102 MB/s   ratio 0.148
    zlib-ng 7    75 MB/s   ratio 0.148
    zlib-ng 8    31 MB/s   ratio 0.146
    zlib-ng 9    42 MB/s   ratio 0.146      (no smaller than 8)

So three settings are worth having: ISA-L 1 (FAST), zlib-ng 6 (SMALL: nearly all of the higher
levels' saving at three times level 8's speed) and zlib-ng 8 (SMALLEST, for the slowest links).
Which one is best depends on what the collection waits for (level_for_link): to a folder or a fast
link the packing threads are the bottleneck and FAST wins; on a slow link the link is, and every
byte saved is time saved, as long as the compressing threads still feed the link faster than it
drains. The table's ratios are an expectation: a run scales them by what its own finished zips
show (ObservedRatio), so logs that compress much better than these (the link drains more input per
second, the threads may become the bottleneck) or much worse move the choice.
"""
from __future__ import annotations

import threading
import zlib
from types import ModuleType
from typing import Protocol


class Compressor(Protocol):
    """zlib's compressobj interface, which ISA-L's and zlib-ng's share."""

    def compress(self, data: bytes | memoryview, /) -> bytes: ...

    def flush(self, mode: int = ..., /) -> bytes: ...


_isal: ModuleType | None
_zng: ModuleType | None
try:
    from isal import isal_zlib as _isal
except ImportError:  # optional accelerators
    _isal = None
try:
    from zlib_ng import zlib_ng as _zng
except ImportError:
    _zng = None

BACKEND = "isal" if _isal else ("zlib-ng" if _zng else "zlib")
# CRC-32 as zip entries need it; ISA-L's and zlib-ng's use SIMD, several times zlib's speed.
crc32 = _isal.crc32 if _isal is not None else (_zng.crc32 if _zng is not None else zlib.crc32)
FAST, SMALL, SMALLEST = 1, 6, 8
# (input bytes/s per core, output/input) of each useful level, fastest first, from the table above
_PROFILE = {FAST: (605e6, 0.191), SMALL: (102e6, 0.148), SMALLEST: (31e6, 0.146)}


def _backend(level: int) -> tuple[ModuleType, int]:
    """The module that deflates at roughly zlib's `level`, and the level to ask it for: levels
    0-3 by ISA-L when installed (its 0-3), higher levels by zlib-ng, else zlib."""
    if level <= 3 and _isal is not None:
        return _isal, max(level, 0)
    return (_zng if _zng is not None else zlib), level


def compressobj(level: int) -> Compressor:
    """A raw-deflate compressor (wbits -15, as zip entries need) at roughly zlib's `level`."""
    module, at = _backend(level)
    compressor: Compressor = module.compressobj(at, module.DEFLATED, -15)
    return compressor


def deflate_whole(data: bytes | memoryview, level: int) -> bytes:
    """`data` as one raw-deflate stream, as compressobj(level) would make it: one call for a file
    that fits in one read, instead of a compressor object, a compress and a flush."""
    module, at = _backend(level)
    whole: bytes = module.compress(data, at, -15)
    return whole


def level_for_link(link_bytes_per_second: float | None, workers: int, content: float = 1.0) -> int:
    """The deflate level that delivers soonest when the bundle goes over a link of this speed
    (None: no link to wait for, e.g. a local folder). A zip is delivered while the next is built,
    so the run takes about as long as its slower stage, per input byte:
    max(1 / (workers x speed / 2), content x ratio / link); the half leaves room for reading,
    hashing and the rest of the run. `content` is how these logs compress against the table's
    (ObservedRatio.content: 0.5 when they come out half the size the table expects). The level
    with the smallest figure wins; ties go to the faster one."""
    if not link_bytes_per_second or link_bytes_per_second <= 0:
        return FAST
    link = link_bytes_per_second

    def per_byte(level: int) -> float:
        speed, ratio = _PROFILE[level]
        return max(2 / (max(workers, 1) * speed), content * ratio / link)

    best = FAST
    for level in _PROFILE:  # fastest first: a slower level must be strictly better
        if per_byte(level) < per_byte(best):
            best = level
    return best


class ObservedRatio:
    """What the zips built so far say about the logs at hand: bytes in and out at the levels of the
    table, against what the table expects of them. Thread-safe (packers report as they finish)."""

    EVIDENCE = 1 << 20  # input bytes before the observation counts (smaller zips are mostly headers)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in = 0
        self._out = 0
        self._expected = 0.0

    def add(self, level: int, bytes_in: int, bytes_out: int) -> None:
        if level not in _PROFILE or bytes_in <= 0:
            return  # a configured level the table does not know says nothing about it
        with self._lock:
            self._in += bytes_in
            self._out += bytes_out
            self._expected += bytes_in * _PROFILE[level][1]

    def content(self) -> float:
        """Observed output over the table's expectation (1.0 until there is evidence), kept within
        0.1-10 so one odd zip cannot swing the choice to an extreme."""
        with self._lock:
            if self._in < self.EVIDENCE or self._expected <= 0:
                return 1.0
            return min(10.0, max(0.1, self._out / self._expected))


# What is decided by name: already-compressed formats are stored; the log kinds the engine collects
# are deflated without a look. Anything else is judged by a sample of its first bytes.
_STORED_EXTS = (".zip", ".gz", ".tgz", ".7z", ".cab", ".bz2", ".xz", ".zst", ".rar", ".png", ".jpg", ".jpeg",
                ".gif", ".mp4", ".vhdx.gz")
_DEFLATED_EXTS = (".log", ".txt", ".etl", ".evtx", ".dmp", ".csv", ".json", ".xml", ".htm", ".html", ".blg",
                  ".ini", ".config", ".ps1", ".psm1", ".out", ".err")
_SAMPLE = 16384


def worth_deflating(name: str, head: bytes | memoryview) -> bool:
    """Whether deflating the file pays: by its extension when that tells, else by a sample of
    its first block (random or already-compressed bytes do not shrink; they are stored)."""
    lower = name.lower()
    if lower.endswith(_STORED_EXTS):
        return False
    if lower.endswith(_DEFLATED_EXTS):
        return True
    sample = head[:_SAMPLE]
    if len(sample) < 4096:
        return True
    packed = _isal.compress(sample, 0, -15) if _isal is not None else zlib.compress(sample, 1, -15)
    return len(packed) <= 0.95 * len(sample)
