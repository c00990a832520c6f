"""The deflate compressor for zip entries: ISA-L (python-isal) when installed, else zlib-ng, else zlib.

All three produce standard raw deflate streams (any unzip reads them) and release the GIL while
compressing, so zips built on several threads compress in parallel. ISA-L's level 1 is several times
faster than zlib's at a similar ratio; that is what lets the engine beat `zip -1` on two cores.
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


def compressobj(level: int) -> Compressor:
    """A raw-deflate compressor (wbits -15, as zip entries need) at roughly zlib's `level`."""
    if _isal is not None:
        isal_compressor: Compressor = _isal.compressobj(min(max(level, 0), 3), _isal.DEFLATED, -15)
        return isal_compressor
    if _zng is not None:
        zng_compressor: Compressor = _zng.compressobj(level, _zng.DEFLATED, -15)
        return zng_compressor
    return zlib.compressobj(level, zlib.DEFLATED, -15)
