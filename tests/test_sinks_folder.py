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
