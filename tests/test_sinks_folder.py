"""The folder sink and the stop rule every sink follows: a stop during a copy is CollectionStopped
(never a DestinationError, so never a delivery failure), and nothing is left under the final name."""
from __future__ import annotations

import os
import shutil
import tempfile
import threading
from pathlib import Path

import pytest

from collector.errors import CollectionStopped, DestinationError
from collector.sinks.folder import FolderSink


def _other_file_system(tmp_path: Path) -> Path | None:
    """A folder on another file system than tmp_path (so the sink copies instead of hard-linking)."""
    for base in ("/dev/shm", "/run"):
        if os.path.isdir(base) and os.access(base, os.W_OK) and os.stat(base).st_dev != os.stat(tmp_path).st_dev:
            return Path(tempfile.mkdtemp(dir=base))
    return None


def test_a_stop_during_a_copy_is_a_stop_not_a_failure(tmp_path):
    dest = _other_file_system(tmp_path)
    if dest is None:
        pytest.skip("no second file system to copy across")
    try:
        staged = tmp_path / "ECE_1.zip"
        staged.write_bytes(os.urandom(3 << 20))
        sink = FolderSink(dest)
        sink.preflight()
        sink.open_bundle("B")
        stop = threading.Event()
        stop.set()
        with pytest.raises(CollectionStopped) as e:
            sink.deliver(staged, "ECE_1.zip", stop=stop)
        assert not isinstance(e.value, DestinationError)
        assert sorted(p.name for p in (dest / "B").iterdir()) == []  # neither the zip nor a .partial
        sink.deliver(staged, "ECE_1.zip", stop=threading.Event())
        assert (dest / "B" / "ECE_1.zip").read_bytes() == staged.read_bytes()
    finally:
        shutil.rmtree(dest, ignore_errors=True)


def test_the_link_meter_counts_the_link_once_however_many_zips_share_it():
    """Two zips sent at once share the link: the meter gives the link's speed (20 MB over 2 s), not
    each delivery's share of it; time with nothing in flight is not the link's (docs/collection.md)."""
    from collector.sinks.pacing import LinkMeter

    now = [0.0]
    meter = LinkMeter(clock=lambda: now[0])
    assert meter.rate(1) is None
    meter.started()
    meter.started()  # both at t=0
    now[0] = 2.0
    meter.ended(10_000_000)
    meter.ended(10_000_000)
    assert meter.rate(1) == 10_000_000
    now[0] = 10.0  # 8 s waiting for a packer: not the link's time
    meter.started()
    now[0] = 11.0
    meter.ended(10_000_000)
    assert meter.rate(1) == 10_000_000
    assert meter.rate(40_000_000) is None  # too few bytes yet to say
