"""A streaming zip writer of our own, on public APIs only (struct, a CRC-32 function, a compressor object).

zipfile offers no public way to give an entry a compression level of its own or to deflate with
ISA-L / zlib-ng (collector.compress); both needed its private `_compresslevel` / `_compressor`.
The zip format (PKWARE APPNOTE 6.3) is small enough to write directly.

The file is written strictly front to back, never seeked back into, so the SHA-256 the manifest
records is taken from the bytes as they are written (no second pass over the finished zip), and a
zip could be streamed while it is built. An entry's compressed data is held in memory up to
`_HOLD` bytes: an entry that ends within that (nearly every log file) is written with its CRC and
sizes in its local header; a larger one gets a local header whose CRC and sizes follow its data in
a data descriptor (general purpose flag bit 3). At the end, the central directory, with the ZIP64
records whenever a size, an offset or the entry count needs them. Any unzip reads the result
(tests/test_engine_zipwriter.py checks zipfile and Info-ZIP's unzip).
"""
from __future__ import annotations

import errno
import hashlib
import struct
import time
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from collector.compress import Compressor, crc32

_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_END = struct.Struct("<IHHHHIIH")
_END64 = struct.Struct("<IQHHIIQQQQ")
_LOCATOR64 = struct.Struct("<IIQI")
_DESCRIPTOR = struct.Struct("<IIII")
_DESCRIPTOR64 = struct.Struct("<IIQQ")
_U32 = 0xFFFFFFFF
_U16 = 0xFFFF
_MADE_BY_UNIX = 3 << 8
_UTF8 = 0x800
_STREAMED = 0x8  # CRC and sizes are in a data descriptor after the data
_ZIP64_VERSION = 45
_HOLD = 1 << 20  # compressed bytes of one entry kept in memory before it is streamed
# Bytes gathered before they are hashed and written: a zip of small logs would otherwise make two
# calls (a write, a SHA-256 update) per entry, each giving up the GIL to the other packers.
_FLUSH = 1 << 18


class Method(IntEnum):
    STORED = 0
    DEFLATED = 8


class ZipTooLarge(ValueError):
    """An entry written without ZIP64 outgrew 4 GB (its source grew while being read)."""


@dataclass
class _Entry:
    name: bytes
    flags: int
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
    """Writes one entry's data. Made by ZipWriter.open_entry; `close` ends the entry."""

    def __init__(self, zw: ZipWriter, entry: _Entry, compressor: Compressor | None):
        self._zw = zw
        self._e = entry
        self._c = compressor
        self._held: list[bytes] | None = []  # None once the entry streams
        self._held_bytes = 0

    def write(self, data: bytes | memoryview) -> None:
        """Add `data` to the entry; it may be a view of the caller's buffer, reused once this returns."""
        e = self._e
        e.crc = crc32(data, e.crc)
        e.size += len(data)
        out = self._c.compress(data) if self._c is not None else bytes(data)
        if out:
            self._out(out)

    def _out(self, out: bytes) -> None:
        self._e.csize += len(out)
        if self._held is None:
            self._zw._write(out)
            return
        self._held.append(out)
        self._held_bytes += len(out)
        if self._held_bytes > _HOLD:  # too big to hold: header now, CRC and sizes after the data
            self._e.flags |= _STREAMED
            self._zw._write(self._zw._local_header(self._e) + b"".join(self._held))
            self._held = None

    def close(self) -> None:
        e = self._e
        if self._c is not None:
            tail = self._c.flush()
            if tail:
                self._out(tail)
        if not e.zip64 and (e.size > _U32 or e.csize > _U32):
            raise ZipTooLarge(f"{e.name.decode('utf-8', 'replace')} grew past 4 GB while being zipped")
        if self._held is not None:  # whole in memory: one header with the real CRC and sizes
            self._zw._write(self._zw._local_header(e) + b"".join(self._held))
            self._held = None
        elif e.zip64:
            self._zw._write(_DESCRIPTOR64.pack(0x08074B50, e.crc, e.csize, e.size))
        else:
            self._zw._write(_DESCRIPTOR.pack(0x08074B50, e.crc, e.csize, e.size))

    def __enter__(self) -> EntryWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        if kind is None:
            self.close()


class ZipWriter:
    """A new zip file at `path`, written entry by entry. Use as a context manager: the central
    directory is written on a clean exit only (an interrupted zip is never made to look whole).
    After close, `size` is the file's length and `sha256` the hex digest of its bytes."""

    def __init__(self, path: Path):
        self._f: BinaryIO = open(path, "wb", buffering=0)
        self._entries: list[_Entry] = []
        self._hash = hashlib.sha256()
        self._pending = bytearray()
        self.size = 0

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def _write(self, data: bytes) -> None:
        self.size += len(data)
        if len(data) >= _FLUSH:  # a big block goes as it is, without a copy
            self._drain()
            self._hash.update(data)
            self._write_all(data)
            return
        self._pending += data
        if len(self._pending) >= _FLUSH:
            self._drain()

    def _drain(self) -> None:
        if self._pending:
            self._hash.update(self._pending)
            self._write_all(self._pending)
            self._pending = bytearray()

    def _write_all(self, data: bytes | bytearray) -> None:
        view = memoryview(data)
        while view:  # an unbuffered write may take less than it was given
            n = self._f.write(view)
            if not n:
                raise OSError(errno.EIO, f"the write to {self._f.name} made no progress")
            view = view[n:]

    def open_entry(self, name: str, mtime: float, method: Method, compressor: Compressor | None = None,
                   zip64: bool = False) -> EntryWriter:
        """Start the entry `name` (its last-write time `mtime`). DEFLATED needs a raw-deflate
        `compressor`; `zip64`: sizes may pass 4 GB (decided up front, as a streamed entry's header
        and data descriptor are sized by it)."""
        if (method is Method.DEFLATED) != (compressor is not None):
            raise ValueError("a compressor is given exactly for DEFLATED entries")
        return EntryWriter(self, self._new_entry(name, mtime, method, zip64), compressor)

    def add_whole(self, name: str, mtime: float, data: bytes | memoryview, deflated: bytes | None) -> None:
        """Add an entry whose whole content is `data`, given already deflated (`deflated`, raw
        deflate of `data`) or None to store it: one header and one write, the path of nearly
        every log file (it fits in one read)."""
        e = self._new_entry(name, mtime, Method.STORED if deflated is None else Method.DEFLATED, False)
        e.crc = crc32(data)
        e.size = len(data)
        body = data if deflated is None else deflated
        e.csize = len(body)
        self._write(self._local_header(e) + body)  # bytes + a view: one copy of a stored file, not two

    def _new_entry(self, name: str, mtime: float, method: Method, zip64: bool) -> _Entry:
        try:
            raw, flags = name.encode("ascii"), 0
        except UnicodeEncodeError:
            raw, flags = name.encode("utf-8"), _UTF8
        t, d = _dos(mtime)
        e = _Entry(raw, flags, method, t, d, self.size, zip64)
        self._entries.append(e)
        return e

    def _local_header(self, e: _Entry) -> bytes:
        """The local header of `e`: with its CRC and sizes, or (streamed) zeros and a descriptor to follow."""
        streamed = bool(e.flags & _STREAMED)
        wide = e.zip64 and streamed  # a held entry's sizes are known and fit in 32 bits
        extra = struct.pack("<HHQQ", 1, 16, 0, 0) if wide else b""
        version = _ZIP64_VERSION if wide else (20 if e.method is Method.DEFLATED else 10)
        if streamed:
            crc, csize, size = 0, (_U32 if wide else 0), (_U32 if wide else 0)
        else:
            crc, csize, size = e.crc, e.csize, e.size
        return _LOCAL.pack(0x04034B50, version, e.flags, e.method, e.dos_time, e.dos_date, crc, csize, size,
                           len(e.name), len(extra)) + e.name + extra

    def close(self) -> None:
        """Write the central directory and close the file."""
        start = self.size
        out: list[bytes] = []
        for e in self._entries:
            big = [e.size >= _U32, e.csize >= _U32, e.offset >= _U32]
            fields = [v for v, b in zip((e.size, e.csize, e.offset), big, strict=True) if b]
            extra = struct.pack(f"<HH{len(fields)}Q", 1, 8 * len(fields), *fields) if fields else b""
            wide = e.zip64 and bool(e.flags & _STREAMED)
            version = _ZIP64_VERSION if (fields or wide) else (20 if e.method is Method.DEFLATED else 10)
            out.append(_CENTRAL.pack(
                0x02014B50, _MADE_BY_UNIX | version, version, e.flags, e.method, e.dos_time,
                e.dos_date, e.crc, _U32 if big[1] else e.csize, _U32 if big[0] else e.size, len(e.name),
                len(extra), 0, 0, 0, (0o100644 << 16) & _U32, _U32 if big[2] else e.offset) + e.name + extra)
        self._write(b"".join(out))
        end = self.size
        count, cd_size = len(self._entries), end - start
        tail = b""
        if count >= _U16 or cd_size >= _U32 or start >= _U32:
            tail += _END64.pack(0x06064B50, _END64.size - 12, _MADE_BY_UNIX | _ZIP64_VERSION,
                                _ZIP64_VERSION, 0, 0, count, count, cd_size, start)
            tail += _LOCATOR64.pack(0x07064B50, 0, end, 1)
        tail += _END.pack(0x06054B50, 0, 0, min(count, _U16), min(count, _U16), min(cd_size, _U32),
                          min(start, _U32), 0)
        self._write(tail)
        self._drain()
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
