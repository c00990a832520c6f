"""The deflate compressor for zip entries, how hard it works, and which files it skips.

Backends: ISA-L (python-isal) for the fast levels, zlib-ng for the higher ones, zlib when neither
is installed. All produce standard raw deflate streams (any unzip reads them) and release the GIL
while compressing, so zips built on several threads compress in parallel.

Measured on the generated stamps' logs (text with ids, ETW and event-log records), one core of
this machine (speeds vary with its load; the ratios do not):

    ISA-L 1     485 MB/s   ratio 0.354      (ISA-L 2 and 3: same ratio, slower)
    zlib-ng 6    92 MB/s   ratio 0.326
    zlib-ng 8    40 MB/s   ratio 0.315      (zlib-ng 7 sits between 6 and 8)
    zlib-ng 9    45 MB/s   ratio 0.321      (worse than 8 on these logs)

So three settings are worth having: ISA-L 1 (FAST), zlib-ng 6 and zlib-ng 8 (SMALLEST). Which one
is best depends on what the collection waits for (level_for_link): to a folder or a fast link the
packing threads are the bottleneck and FAST wins; on a slow link the link is, and every byte saved
is time saved, as long as the compressing threads still feed the link faster than it drains.
"""
from __future__ import annotations

import zlib
from types import ModuleType
from typing import Protocol


class Compressor(Protocol):
    """zlib's compressobj interface, which ISA-L's and zlib-ng's share."""

    def compress(self, data: bytes, /) -> bytes: ...

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
_PROFILE = {FAST: (485e6, 0.354), SMALL: (92e6, 0.326), SMALLEST: (40e6, 0.315)}


def compressobj(level: int) -> Compressor:
    """A raw-deflate compressor (wbits -15, as zip entries need) at roughly zlib's `level`:
    levels 0-3 by ISA-L when installed (its 0-3), higher levels by zlib-ng, else zlib."""
    if level <= 3 and _isal is not None:
        isal_compressor: Compressor = _isal.compressobj(max(level, 0), _isal.DEFLATED, -15)
        return isal_compressor
    if _zng is not None:
        zng_compressor: Compressor = _zng.compressobj(level, _zng.DEFLATED, -15)
        return zng_compressor
    return zlib.compressobj(level, zlib.DEFLATED, -15)


def level_for_link(link_bytes_per_second: float | None, workers: int) -> int:
    """The deflate level that delivers soonest when the bundle goes over a link of this speed
    (None: no link to wait for, e.g. a local folder). A zip is delivered while the next is built,
    so the run takes about as long as its slower stage, per input byte:
    max(1 / (workers x speed / 2), ratio / link); the half leaves room for reading, hashing and
    the rest of the run. The level with the smallest figure wins; ties go to the faster one."""
    if not link_bytes_per_second or link_bytes_per_second <= 0:
        return FAST
    link = link_bytes_per_second

    def per_byte(level: int) -> float:
        speed, ratio = _PROFILE[level]
        return max(2 / (max(workers, 1) * speed), ratio / link)

    best = FAST
    for level in _PROFILE:  # fastest first: a slower level must be strictly better
        if per_byte(level) < per_byte(best):
            best = level
    return best


# What is decided by name: already-compressed formats are stored; the log kinds the engine collects
# are deflated without a look. Anything else is judged by a sample of its first bytes.
_STORED_EXTS = (".zip", ".gz", ".tgz", ".7z", ".cab", ".bz2", ".xz", ".zst", ".rar", ".png", ".jpg", ".jpeg",
                ".gif", ".mp4", ".vhdx.gz")
_DEFLATED_EXTS = (".log", ".txt", ".etl", ".evtx", ".dmp", ".csv", ".json", ".xml", ".htm", ".html", ".blg",
                  ".ini", ".config", ".ps1", ".psm1", ".out", ".err")
_SAMPLE = 16384


def worth_deflating(name: str, head: bytes) -> bool:
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
