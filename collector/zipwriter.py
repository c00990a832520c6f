"""A streaming zip writer of our own, on public APIs only (struct, zlib.crc32, a compressor object).

zipfile offers no public way to give an entry a compression level of its own or to deflate with
ISA-L / zlib-ng (collector.compress); both needed its private `_compresslevel` / `_compressor`.
The zip format (PKWARE APPNOTE 6.3) is small enough to write directly: per entry a local header,
the data, then the header's CRC and sizes patched in place (the file is seekable, so no data
descriptor); at the end the central directory, with the ZIP64 records whenever a size, an offset or
the entry count needs them. Any unzip reads the result (tests/test_engine_zipwriter.py checks
zipfile and Info-ZIP's unzip).
"""
from __future__ import annotations

import struct
import time
import zlib
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Protocol

_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_END = struct.Struct("<IHHHHIIH")
_END64 = struct.Struct("<IQHHIIQQQQ")
_LOCATOR64 = struct.Struct("<IIQI")
_U32 = 0xFFFFFFFF
_U16 = 0xFFFF
_MADE_BY_UNIX = 3 << 8
_UTF8 = 0x800
_ZIP64_VERSION = 45


class Method(IntEnum):
    STORED = 0
    DEFLATED = 8


class Compressor(Protocol):
    """What zlib.compressobj (and ISA-L's, zlib-ng's) returns: raw deflate when made with wbits -15."""

    def compress(self, data: bytes, /) -> bytes: ...
    def flush(self, mode: int = ..., /) -> bytes: ...


class ZipTooLarge(ValueError):
    """An entry written without ZIP64 outgrew 4 GB (its source grew while being read)."""


@dataclass
class _Entry:
    name: bytes
    utf8: bool
    method: Method
    dos_time: int
    dos_date: int
    offset: int
    zip64: bool
    crc: int = 0
    size: int = 0
    csize: int = 0


def _dos(mtime: float) -> tuple[int, int]:
    """DOS time and date of a POSIX time, in UTC (as the engine always wrote); clamped to 1980..2107."""
    y, mo, d, h, mi, s = time.gmtime(mtime)[:6]
    if y < 1980:
        y, mo, d, h, mi, s = 1980, 1, 1, 0, 0, 0
    elif y > 2107:
        y, mo, d, h, mi, s = 2107, 12, 31, 23, 59, 58
    return h << 11 | mi << 5 | s // 2, (y - 1980) << 9 | mo << 5 | d


class EntryWriter:
    """Writes one entry's data; `close` patches its header. Made by ZipWriter.open_entry."""

    def __init__(self, f: BinaryIO, entry: _Entry, compressor: Compressor | None):
        self._f = f
        self._e = entry
        self._c = compressor

    def write(self, data: bytes) -> None:
        e = self._e
        e.crc = zlib.crc32(data, e.crc)
        e.size += len(data)
        out = self._c.compress(data) if self._c is not None else data
        e.csize += len(out)
        self._f.write(out)

    def close(self) -> None:
        e = self._e
        if self._c is not None:
            tail = self._c.flush()
            e.csize += len(tail)
            self._f.write(tail)
        if not e.zip64 and (e.size > _U32 or e.csize > _U32):
            raise ZipTooLarge(f"{e.name.decode('utf-8', 'replace')} grew past 4 GB while being zipped")
        end = self._f.tell()
        self._f.seek(e.offset + 14)
        if e.zip64:
            self._f.write(struct.pack("<III", e.crc, _U32, _U32))
            self._f.seek(e.offset + _LOCAL.size + len(e.name) + 4)
            self._f.write(struct.pack("<QQ", e.size, e.csize))
        else:
            self._f.write(struct.pack("<III", e.crc, e.csize, e.size))
        self._f.seek(end)

    def __enter__(self) -> EntryWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        if kind is None:
            self.close()


class ZipWriter:
    """A new zip file at `path`, written entry by entry. Use as a context manager: the central
    directory is written on a clean exit only (an interrupted zip is never made to look whole)."""

    def __init__(self, path: Path):
        self._f: BinaryIO = open(path, "wb")
        self._entries: list[_Entry] = []

    def open_entry(self, name: str, mtime: float, method: Method, compressor: Compressor | None = None,
                   zip64: bool = False) -> EntryWriter:
        """Start the entry `name` (its last-write time `mtime`). DEFLATED needs a raw-deflate
        `compressor`; `zip64`: sizes may pass 4 GB (decided up front, as the header is sized now)."""
        if (method is Method.DEFLATED) != (compressor is not None):
            raise ValueError("a compressor is given exactly for DEFLATED entries")
        try:
            raw, utf8 = name.encode("ascii"), False
        except UnicodeEncodeError:
            raw, utf8 = name.encode("utf-8"), True
        t, d = _dos(mtime)
        e = _Entry(raw, utf8, method, t, d, self._f.tell(), zip64)
        extra = struct.pack("<HHQQ", 1, 16, 0, 0) if zip64 else b""
        version = _ZIP64_VERSION if zip64 else (20 if method is Method.DEFLATED else 10)
        size_field = _U32 if zip64 else 0
        self._f.write(_LOCAL.pack(0x04034B50, version, _UTF8 if utf8 else 0, method, t, d, 0, size_field,
                                  size_field, len(raw), len(extra)) + raw + extra)
        self._entries.append(e)
        return EntryWriter(self._f, e, compressor)

    def close(self) -> None:
        """Write the central directory and close the file."""
        start = self._f.tell()
        for e in self._entries:
            big = [e.size >= _U32, e.csize >= _U32, e.offset >= _U32]
            fields = [v for v, b in zip((e.size, e.csize, e.offset), big, strict=True) if b]
            extra = struct.pack(f"<HH{len(fields)}Q", 1, 8 * len(fields), *fields) if fields else b""
            version = _ZIP64_VERSION if (fields or e.zip64) else (20 if e.method is Method.DEFLATED else 10)
            self._f.write(_CENTRAL.pack(
                0x02014B50, _MADE_BY_UNIX | version, version, _UTF8 if e.utf8 else 0, e.method, e.dos_time,
                e.dos_date, e.crc, _U32 if big[1] else e.csize, _U32 if big[0] else e.size, len(e.name),
                len(extra), 0, 0, 0, (0o100644 << 16) & _U32, _U32 if big[2] else e.offset) + e.name + extra)
        end = self._f.tell()
        count, cd_size = len(self._entries), end - start
        if count >= _U16 or cd_size >= _U32 or start >= _U32:
            self._f.write(_END64.pack(0x06064B50, _END64.size - 12, _MADE_BY_UNIX | _ZIP64_VERSION,
                                      _ZIP64_VERSION, 0, 0, count, count, cd_size, start))
            self._f.write(_LOCATOR64.pack(0x07064B50, 0, end, 1))
        self._f.write(_END.pack(0x06054B50, 0, 0, min(count, _U16), min(count, _U16), min(cd_size, _U32),
                                min(start, _U32), 0))
        self._f.close()

    def abandon(self) -> None:
        """Close without a central directory (the caller removes the file)."""
        self._f.close()

    def __enter__(self) -> ZipWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        if kind is None:
            self.close()
        else:
            self.abandon()
