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

from collector.compress import FAST, SMALL, SMALLEST, level_for_link, worth_deflating

ROOT = Path(__file__).resolve().parent.parent
MBIT = 1_000_000 / 8


def test_the_level_follows_the_link():
    assert level_for_link(None, 2) == FAST  # a folder: the packers are the bottleneck
    assert level_for_link(10_000 * MBIT, 2) == FAST  # 10 Gbit/s: the same
    assert level_for_link(40 * MBIT, 2) == SMALLEST  # 40 Mbit/s: bytes saved are time saved
    assert level_for_link(5 * MBIT, 1) == SMALLEST
    # a faster link: the slowest level would keep it waiting, a middle one does not
    assert level_for_link(200 * MBIT, 2) == SMALL and level_for_link(100 * MBIT, 1) == SMALL
    assert level_for_link(400 * MBIT, 2) == FAST


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
    """The same collection to a container over a 200 Mbit/s cap: with the level left to the engine
    (auto) its zips are smaller than at level 1, and every zip is whole (zipfile reads every entry)."""
    stamp = small_stamp(tmp_path / "stamp", days=0.2, mb_per_hour=0.5, end=datetime.now(timezone.utc))
    sizes = {}
    for level in ("1", "auto"):
        name = f"speed{level}{os.getpid()}"
        sas = azurite.make_container_sas(name)
        r = _pep(["--stamp", str(stamp), "-c", f"Get-AzureStackLog -OutputSasUri '{sas}' -FilterByRole ECE,URP,CA"],
                 tmp_path / f"state-{level}", {"upload": {"bandwidth_mbps": 200}, "collection": {"compress_level": level}})
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
