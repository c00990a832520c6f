"""collector.zipwriter: the zips it writes are read back whole by zipfile and by Info-ZIP's unzip,
for stored and deflated entries, non-ASCII names, ZIP64 entries and more than 65535 entries."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
import zipfile

import pytest

from collector.compress import compressobj, deflate_whole
from collector.zipwriter import Method, ZipWriter

MTIME = time.mktime((2026, 11, 25, 8, 30, 10, 0, 0, -1)) - time.timezone


def _write(path, entries, zip64=False):
    with ZipWriter(path) as zw:
        for name, data, method in entries:
            comp = compressobj(1) if method is Method.DEFLATED else None
            with zw.open_entry(name, MTIME, method, comp, zip64=zip64) as out:
                for i in range(0, len(data), 7000):
                    out.write(data[i:i + 7000])


def _unzip_test(path):
    if shutil.which("unzip"):
        r = subprocess.run(["unzip", "-tq", str(path)], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("zip64", [False, True])
def test_round_trip_stored_deflated_and_unicode_names(tmp_path, zip64):
    text = b"2026-11-25 08:00:00 INFO something happened\n" * 5000
    noise = os.urandom(50000)
    entries = [("azs-ercs01/Logs/ECE.log", text, Method.DEFLATED), ("azs-ercs01/dump.dmp", noise, Method.STORED),
               ("azs-node01/Fichiers/été.txt", b"accents", Method.DEFLATED), ("empty.log", b"", Method.DEFLATED),
               ("empty-stored", b"", Method.STORED)]
    path = tmp_path / "a.zip"
    _write(path, entries, zip64)
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        assert zf.namelist() == [e[0] for e in entries]
        for name, data, method in entries:
            info = zf.getinfo(name)
            assert zf.read(name) == data and info.compress_type == method
            assert info.date_time == (2026, 11, 25, 8, 30, 10)
        assert zf.getinfo(entries[0][0]).compress_size < len(text) // 20
    _unzip_test(path)


@pytest.mark.parametrize("level", [1, 6])
def test_whole_entries_mixed_with_streamed_ones_read_back(tmp_path, level):
    """add_whole (a file that fit in one read, deflated in one call by either backend, or stored)
    between streamed entries: every unzip reads every byte and the CRCs check."""
    text = b"2026-11-25 08:00:00 INFO something happened\n" * 3000
    noise = os.urandom(20000)
    path = tmp_path / "w.zip"
    with ZipWriter(path) as zw:
        zw.add_whole("a/whole.log", MTIME, memoryview(text), deflate_whole(text, level))
        with zw.open_entry("a/streamed.log", MTIME, Method.DEFLATED, compressobj(level)) as out:
            out.write(text)
        zw.add_whole("a/noise.bin", MTIME, noise, None)
        zw.add_whole("a/empty.log", MTIME, b"", deflate_whole(b"", level))
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        assert [zf.read(n) for n in zf.namelist()] == [text, text, noise, b""]
        assert zf.getinfo("a/whole.log").compress_type == Method.DEFLATED
        assert zf.getinfo("a/whole.log").compress_size < len(text) // 20
        assert zf.getinfo("a/noise.bin").compress_type == Method.STORED
        assert zf.getinfo("a/whole.log").date_time == (2026, 11, 25, 8, 30, 10)
    _unzip_test(path)


def test_more_than_65535_entries_use_the_zip64_end_records(tmp_path):
    path = tmp_path / "many.zip"
    with ZipWriter(path) as zw:
        for i in range(70000):
            with zw.open_entry(f"f{i}", MTIME, Method.STORED) as out:
                out.write(b"x")
    with zipfile.ZipFile(path) as zf:
        assert len(zf.infolist()) == 70000 and zf.read("f69999") == b"x"
    _unzip_test(path)


def test_an_interrupted_zip_has_no_central_directory(tmp_path):
    path = tmp_path / "cut.zip"
    with pytest.raises(RuntimeError):
        with ZipWriter(path) as zw:
            with zw.open_entry("a", MTIME, Method.DEFLATED, compressobj(1)) as out:
                out.write(b"data")
            raise RuntimeError("stopped")
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(path)


def test_level_and_backend_are_ours(tmp_path):
    """The entry is deflated by the compressor given (zipfile's own would be zlib at level 6)."""
    data = bytes(range(256)) * 4000 + b"log line\n" * 20000
    path = tmp_path / "l.zip"
    _write(path, [("x", data, Method.DEFLATED)])
    with zipfile.ZipFile(path) as zf:
        got = zf.getinfo("x").compress_size
    c = compressobj(1)
    expected = b"".join(c.compress(data[i:i + 7000]) for i in range(0, len(data), 7000)) + c.flush()
    assert got == len(expected)


@pytest.mark.parametrize("zip64", [False, True])
def test_an_entry_too_big_to_hold_streams_with_a_data_descriptor(tmp_path, zip64):
    """More compressed data than the writer holds in memory: the file is still written front to back
    (CRC and sizes in a data descriptor), its SHA-256 is that of its bytes, and every unzip reads it."""
    import hashlib

    noise = os.urandom(3 << 20)  # stored: 3 MiB of output, past the 1 MiB held in memory
    text = b"2026-11-25 08:00:00 INFO streamed\n" * 2000
    path = tmp_path / "s.zip"
    with ZipWriter(path) as zw:
        for name, data, method in (("big.dmp", noise, Method.STORED), ("after.log", text, Method.DEFLATED)):
            with zw.open_entry(name, MTIME, method, compressobj(1) if method is Method.DEFLATED else None,
                               zip64=zip64) as out:
                for i in range(0, len(data), 1 << 20):
                    out.write(data[i:i + (1 << 20)])
    assert zw.sha256 == hashlib.sha256(path.read_bytes()).hexdigest() and zw.size == path.stat().st_size
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        assert zf.getinfo("big.dmp").flag_bits & 0x8 and not zf.getinfo("after.log").flag_bits & 0x8
        assert zf.read("big.dmp") == noise and zf.read("after.log") == text
    _unzip_test(path)
