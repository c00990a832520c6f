"""The speed decisions of a collection, as a user sees them (docs/collection.md, "Speed"):
the deflate level follows the link (a capped upload gets smaller zips than the fastest level),
already-compressed files are stored, and a collection over a link still delivers a whole, valid
bundle. No test here depends on timing."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from datetime import datetime, timezone
from pathlib import Path

from enginehelp import small_stamp

from collector.compress import _PROFILE, FAST, SMALL, SMALLEST, ObservedRatio, level_for_link, worth_deflating

ROOT = Path(__file__).resolve().parent.parent
MBIT = 1_000_000 / 8


def test_the_level_follows_the_link():
    assert level_for_link(None, 2) == FAST  # a folder: the packers are the bottleneck
    assert level_for_link(10_000 * MBIT, 2) == FAST  # 10 Gbit/s: the same
    assert level_for_link(40 * MBIT, 2) == SMALL  # 40 Mbit/s: bytes saved are time saved
    assert level_for_link(5 * MBIT, 1) == SMALLEST  # the slowest links: every last byte
    # level 8 saves little over 6 on these logs at a third of its speed: at 40 Mbit/s two threads at 8
    # would keep the link waiting, at 30 Mbit/s not
    assert level_for_link(30 * MBIT, 2) == SMALLEST
    assert level_for_link(100 * MBIT, 2) == SMALL and level_for_link(60 * MBIT, 1) == SMALL
    assert level_for_link(400 * MBIT, 2) == FAST


def test_the_level_follows_the_logs_as_well():
    """Logs that compress much better than the table's drain a link with more input per second, so the
    compressing threads become the bottleneck sooner; logs that compress worse keep the link busier."""
    assert level_for_link(60 * MBIT, 2) == SMALL
    assert level_for_link(60 * MBIT, 2, content=0.3) == FAST
    assert level_for_link(40 * MBIT, 2) == SMALL
    assert level_for_link(40 * MBIT, 2, content=2.0) == SMALLEST
    assert level_for_link(None, 2, content=0.1) == FAST  # no link: nothing to weigh


def test_the_observed_ratio_is_the_logs_against_the_table():
    seen = ObservedRatio()
    assert seen.content() == 1.0  # nothing built yet: the table's figures
    expected = _PROFILE[FAST][1]
    seen.add(FAST, 100_000, int(100_000 * expected / 2))
    assert seen.content() == 1.0  # 100 KB says little (headers weigh on small zips)
    seen.add(FAST, 4 << 20, int((4 << 20) * expected / 2))
    assert abs(seen.content() - 0.5) < 0.01  # these logs come out half the size the table expects
    seen.add(5, 50 << 20, 1)  # a configured level the table does not know: not counted
    assert abs(seen.content() - 0.5) < 0.01
    extreme = ObservedRatio()
    extreme.add(SMALL, 8 << 20, 10)
    assert extreme.content() == 0.1  # bounded: one odd run of zips cannot push the choice to an extreme


def test_what_is_stored_and_what_is_deflated():
    noise = os.urandom(20000)
    text = b"2026-11-25 08:00:00 INFO a line\n" * 600
    assert not worth_deflating("Logs/old.zip", text)  # by name: already compressed
    assert worth_deflating("Logs/URP.log", noise)  # by name: a log kind is deflated without a look
    assert not worth_deflating("Diag/blob.bin", noise)  # unknown kind: the sample decides
    assert worth_deflating("Diag/state.bin", text)
    assert worth_deflating("tiny.bin", b"x" * 100)  # too small to judge: deflate


def _pep(args: list[str], state: Path, config: dict) -> subprocess.CompletedProcess[str]:
    cfg = state / "config.json"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(json.dumps(config))
    env = dict(os.environ, PEP_STATE_DIR=str(state))
    return subprocess.run([sys.executable, "-m", "pep", "--config", str(cfg), *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=240)


def _zip_bytes(container, prefix: str = "") -> dict[str, int]:
    return {b.name.rsplit("/", 1)[-1]: b.size for b in container.list_blobs() if b.name.endswith(".zip")}


def test_a_capped_upload_gets_smaller_zips_than_the_fastest_level(tmp_path, azurite):
    """The same collection to a container over a 100 Mbit/s cap: with the level left to the engine
    (auto) its zips are smaller than at level 1, and every zip is whole (zipfile reads every entry)."""
    stamp = small_stamp(tmp_path / "stamp", days=0.2, mb_per_hour=0.5, end=datetime.now(timezone.utc))
    sizes = {}
    for level in ("1", "auto"):
        name = f"speed{level}{os.getpid()}"
        sas = azurite.make_container_sas(name)
        r = _pep(["--stamp", str(stamp), "-c", f"Get-AzureStackLog -OutputSasUri '{sas}' -FilterByRole ECE,URP,CA"],
                 tmp_path / f"state-{level}", {"upload": {"bandwidth_mbps": 100}, "collection": {"compress_level": level}})
        assert r.returncode == 0, r.stdout + r.stderr
        assert "Log collection complete" in r.stdout
        container = azurite.container(name)
        sizes[level] = _zip_bytes(container)
        for blob in container.list_blobs():
            if blob.name.endswith(".zip"):
                local = tmp_path / f"{level}-{blob.name.rsplit('/', 1)[-1]}"
                local.write_bytes(container.download_blob(blob.name).readall())
                with zipfile.ZipFile(local) as zf:
                    assert zf.testzip() is None
    assert sizes["1"].keys() == sizes["auto"].keys()
    assert sum(sizes["auto"].values()) < 0.97 * sum(sizes["1"].values())


def test_a_folder_collection_uses_the_fastest_level_and_its_manifest_hashes_hold(tmp_path):
    """To a folder (no link) the level is ISA-L's fastest; the SHA-256 the manifest records, taken
    while each zip was written, is that of the file on disk; manifest.json is one JSON document."""
    import hashlib

    stamp = small_stamp(tmp_path / "stamp", days=0.2, mb_per_hour=0.5, end=datetime.now(timezone.utc))
    out = tmp_path / "out"
    r = _pep(["--stamp", str(stamp), "-c", f"Get-AzureStackLog -OutputPath '{out}' -FilterByRole ECE,URP"],
             tmp_path / "state", {})
    assert r.returncode == 0, r.stdout + r.stderr
    bundle = next(out.glob("AzureStackLogs-*"))
    manifest = json.loads((bundle / "manifest.json").read_text())
    zips = [z for role in manifest["roles"].values() for z in role["zips"]]
    assert zips
    for z in zips:
        assert hashlib.sha256((bundle / z["name"]).read_bytes()).hexdigest() == z["sha256"]
        assert (bundle / z["name"]).stat().st_size == z["bytes"]


def test_every_file_once_whichever_packer_builds_it_and_the_switch_interval_is_given_back(tmp_path):
    """Waiting zips go to the packers biggest first and the run shortens the GIL's switch interval
    (docs/collection.md, "Speed"): with one packer or three, every file in the window is in the
    bundle exactly once, and the interpreter's switch interval is what it was once the run is over."""
    import sys

    from enginehelp import bundle_dir, collected_paths, expected_paths, run, window

    stamp = small_stamp(tmp_path / "stamp", days=0.3, mb_per_hour=2)
    w = window(6, 0)
    before = sys.getswitchinterval()
    for workers in (1, 3):
        out = tmp_path / f"out{workers}"
        # zips of at most 1 MiB: several wait for a packer at once
        run(stamp, tmp_path / f"state{workers}", out, w, {"collection": {"concurrency": workers, "zip_split_mb": 1}})
        got = collected_paths(bundle_dir(out))
        assert set(got) == expected_paths(stamp, w) and set(got.values()) == {1}
        assert sys.getswitchinterval() == before


def _repetitive_role(stamp: Path, role: str, files: int, size: int) -> None:
    """Replace a role's logs with text logs of one repeated heartbeat line: they compress about 100:1,
    far better than the table's logs, and their records are from the last half hour."""
    now = datetime.now(timezone.utc)
    for host_dir in (stamp / "hosts").glob(f"*/{role}"):
        for p in host_dir.rglob("*"):
            if p.is_file():
                p.unlink()
        for i in range(files):
            line = f"{now:%Y-%m-%dT%H:%M:%S}.000Z [Info] [Health] Heartbeat from azs-node01: status Healthy\n"
            p = host_dir / "Logs" / f"{role}.{i + 1}.log"
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(line * (size // len(line)))


def test_logs_that_compress_far_better_than_the_table_move_the_level_during_a_run(tmp_path, azurite):
    """Over a 60 Mbit/s cap with one packer the table says zlib-ng 6; a role whose logs compress about
    100:1 shows, once a megabyte is packed, that the link drains them far faster than one thread
    deflates at 6, so the later zips are built at ISA-L 1. Seen in the zips: the same collection at
    fixed level 6 and at fixed level 1 gives each zip's two possible sizes; the auto run's first zips
    have level 6's sizes and its later ones level 1's."""
    stamp = small_stamp(tmp_path / "stamp", days=0.2, mb_per_hour=0.5, end=datetime.now(timezone.utc))
    _repetitive_role(stamp, "CA", files=8, size=600_000)
    sizes = {}
    for level in ("6", "1", "auto"):
        name = f"moves{level}{os.getpid()}"
        sas = azurite.make_container_sas(name)
        r = _pep(["--stamp", str(stamp), "-c", f"Get-AzureStackLog -OutputSasUri '{sas}' -FilterByRole CA"],
                 tmp_path / f"state-{level}",
                 {"upload": {"bandwidth_mbps": 60}, "collection": {"compress_level": level, "concurrency": 1,
                                                                   "zip_split_mb": 1}})
        assert r.returncode == 0, r.stdout + r.stderr
        sizes[level] = _zip_bytes(azurite.container(name))
    assert len(sizes["auto"]) >= 3 and sizes["auto"].keys() == sizes["1"].keys() == sizes["6"].keys()
    assert all(sizes["1"][z] != sizes["6"][z] for z in sizes["auto"])
    at = {z: ("6" if n == sizes["6"][z] else "1" if n == sizes["1"][z] else "?") for z, n in sizes["auto"].items()}
    assert "?" not in at.values(), (at, sizes)
    # built in name order (one packer, zips of one 600 KB file each): level 6 until a megabyte was
    # packed (two zips), ISA-L 1 for every zip after
    levels = [at[z] for z in sorted(at, key=lambda z: int(z[len("CA_"):-len(".zip")]))]
    assert levels == ["6", "6"] + ["1"] * (len(levels) - 2), (at, sizes)
