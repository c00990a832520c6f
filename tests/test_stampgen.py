"""The simulated stamp: deterministic, realistic formats, file times matching content, ground truth."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from collector.stampgen import TRUTH_PATH, ensure_default_stamp, generate, load_truth, topology
from collector.timefmt import first_record_time
from session.environment import Environment

END = datetime(2026, 11, 25, 12, 0, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def stamp(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("st") / "s", days=1, mb_per_hour=0.4, seed=3, end=END)


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted((root / "hosts").rglob("*")):
        if p.is_file():
            h.update(p.relative_to(root).as_posix().encode())
            h.update(p.read_bytes())
            h.update(str(p.stat().st_mtime_ns).encode())
    return h.hexdigest()


def test_same_seed_same_stamp_other_seed_differs(tmp_path, stamp):
    again = generate(tmp_path / "a", days=1, mb_per_hour=0.4, seed=3, end=END)
    assert _digest(again) == _digest(stamp)
    other = generate(tmp_path / "b", days=1, mb_per_hour=0.4, seed=4, end=END)
    assert _digest(other) != _digest(stamp)


def test_truth_describes_every_file_and_times_match_content(stamp):
    truth = load_truth(stamp)
    on_disk = {p.relative_to(stamp).as_posix() for p in (stamp / "hosts").rglob("*") if p.is_file()}
    assert {e["path"] for e in truth} == on_disk
    for e in truth:
        p = stamp / e["path"]
        last = datetime.fromisoformat(e["last"])
        assert p.stat().st_mtime_ns // 1_000_000 == int(last.timestamp() * 1000), e["path"]
        first = datetime.fromisoformat(e["first"])
        if e["kind"] == "text":
            assert first_record_time(p.read_bytes()[:4096]) == first, e["path"]
        if e["kind"] == "etl":
            assert p.name.endswith(first.strftime("_%Y%m%d-%H%M%S.etl"))
            assert p.read_bytes()[:4] == b"\x00\x00\x00\x00"  # binary, not text
        if e["kind"] == "evtx":
            assert p.read_bytes()[:8] == b"ElfFile\x00"
        if e["kind"] == "dmp":
            assert p.read_bytes()[:4] == b"MDMP"
        assert first <= last


def test_realistic_formats_and_log_types_are_present(stamp):
    truth = load_truth(stamp)
    kinds = {e["kind"] for e in truth}
    assert kinds == {"text", "etl", "evtx", "dmp"}
    assert {e["log_type"] for e in truth} == {"File", "Share", "WindowsEvent"}
    heads = {p.name: p.read_text()[:200] for p in (stamp / "hosts" / "azs-was01" / "WAS" / "Logs").iterdir()}
    assert any(h.startswith("#Software: Microsoft Internet Information Services") and "#Fields: date time" in h
               for h in heads.values())
    ece = (stamp / "hosts" / "azs-ercs01" / "ECE" / "Logs" / "ECE.log").read_text()[:30]
    assert ece[2] == "/" and ece[5] == "/"  # MM/dd/yyyy HH:mm:ss.fff
    cluster = (stamp / "hosts" / "azs-node01" / "Storage" / "Cluster" / "cluster.log").read_text()[:60]
    assert "::2026/11/" in cluster
    iso = (stamp / "hosts" / "azs-xrp01" / "URP" / "Logs" / "URP.log").read_text()
    # several rolls of one trace, each named by its start time
    assert len(list((stamp / "hosts" / "azs-node01" / "BareMetal" / "Traces").glob("*.etl"))) >= 2
    assert list((stamp / "hosts").rglob("Archive-*.evtx"))
    assert iso  # URP uses the en-US format too; just make sure it exists


def test_more_nodes_more_hosts_and_roles_on_them():
    d = topology(7)
    names = [n["name"] for n in d["nodes"]]
    assert len(names) == 7
    assert d["roles"]["BareMetal"] == names
    assert {vm["host"] for vm in d["vms"]} == set(names)


def _pep(*args, cwd):
    root = Path(__file__).resolve().parent.parent
    return subprocess.run([sys.executable, "-m", "pep", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "PYTHONPATH": str(root)}, timeout=300)


def test_pep_stamp_generate_as_typed(tmp_path):
    r = _pep("stamp", "generate", "g", "--nodes", "2", "--days", "0.25", "--mb-per-hour", "0.2", "--seed", "9",
             "--end", "2026-11-25T12:00:00+00:00", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "Generated stamp" in r.stdout and "Traceback" not in r.stderr
    assert (tmp_path / "g" / TRUTH_PATH).is_file()
    info = json.loads((tmp_path / "g" / "stamp.json").read_text())
    assert len(info["nodes"]) == 2 and info["generated"]["end"] == "2026-11-25T12:00:00+00:00"
    # The generated stamp is usable at once.
    r = _pep("--stamp", "g", "--state-dir", "state", "-c", "Get-AzureStackStampInformation", cwd=tmp_path)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("args, message", [
    (["--nodes", "0"], "must be positive"),
    (["--end", "yesterday"], "not an ISO 8601 time"),
])
def test_pep_stamp_generate_bad_input_is_a_message_not_a_traceback(tmp_path, args, message):
    r = _pep("stamp", "generate", "g", *args, cwd=tmp_path)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr


def test_default_stamp_generated_once_then_reused(tmp_path):
    env = Environment(state_dir=tmp_path / "state", config={"stamp": {"days": 0.2, "mb_per_hour": 0.5}})
    root = ensure_default_stamp(env)
    assert (root / "stamp.json").is_file() and (root / "hosts").is_dir()
    before = os.stat(root / "stamp.json").st_mtime_ns
    assert ensure_default_stamp(env) == root
    assert os.stat(root / "stamp.json").st_mtime_ns == before


def test_file_names_sizes_and_times_are_those_of_the_first_generator(stamp):
    """The content changed (docs/collection.md, "Speed"); for a seed, every file's name, size, last-write
    time and first and last record time did not: this digest was taken with the generator before it."""
    h = hashlib.sha256()
    for e in sorted(load_truth(stamp), key=lambda e: e["path"]):
        st = os.stat(stamp / e["path"])
        h.update(f"{e['path']} {st.st_size} {st.st_mtime_ns} {e['first']} {e['last']}\n".encode())
    assert h.hexdigest() == "32e2c41e8d30c817e658dcdf51bb335243902e9c299a6d58ae04b366cc72f71e"


def test_line_timestamps_are_written_as_stamp_prefix_writes_them():
    import random

    from collector.stampgen import _day_prefix, _from_ms, _stamp
    from collector.timefmt import FORMATS, stamp_prefix

    r = random.Random(5)
    for fmt in FORMATS:
        for _ in range(500):
            ms = r.randrange(1_700_000_000_000, 1_900_000_000_000)
            if fmt == "w3c":
                ms -= ms % 1000
            day = ms // 86_400_000
            assert _stamp(_day_prefix(fmt, day), ms % 86_400_000) == stamp_prefix(fmt, _from_ms(ms))


def test_generated_logs_compress_like_real_ones(tmp_path):
    """Text logs repeat their messages within deflate's window and binary logs carry structured records,
    so a 1 MB log of each kind deflates (zlib level 6) in the range published for real logs, not at the
    2-3:1 of random fields; every text line starts with its record time, and times never go back."""
    import random
    import zlib

    from collector.stampgen import _Content, _write_text
    from collector.timefmt import parse_line

    content = _Content(random.Random(1))
    t0 = datetime(2026, 11, 25, 0, 0, tzinfo=timezone.utc)
    ratios = {}
    for fmt in ("iso", "us", "w3c", "cluster"):
        p = tmp_path / f"{fmt}.log"
        _write_text(p, fmt, t0, t0.replace(hour=6), 1 << 20, content, random.Random(2))
        data = p.read_bytes()
        ratios[fmt] = len(data) / len(zlib.compress(data, 6))
        times = [parse_line(line) for line in data.decode().splitlines() if not line.startswith("#")]
        assert None not in times and times == sorted(times), fmt
    for kind in ("etl", "evtx"):
        p = tmp_path / f"x.{kind}"
        with open(p, "wb") as f:
            content.binary(f, 1 << 20, b"\x00" * 16, random.Random(3), kind)
        data = p.read_bytes()
        assert len(data) == 1 << 20
        ratios[kind] = len(data) / len(zlib.compress(data, 6))
    assert all(r >= 6 for fmt, r in ratios.items() if fmt not in ("etl", "evtx")), ratios
    assert ratios["etl"] >= 3.5 and ratios["evtx"] >= 5, ratios
