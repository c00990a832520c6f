"""The folder destination (-OutputPath, and the default folder when no destination is given).

A file becomes visible under its final name only once complete: it is copied to a hidden
`.<name>.partial`, fsynced, then renamed. Honours the `faults.destination_full_after_mb` fault.
"""
from __future__ import annotations

import errno
import json
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from collector.errors import Category, CollectionStopped, DestinationError
from common.state import atomic_write

_CHUNK = 1 << 20


class FolderSink:
    def __init__(self, root: str | Path, full_after_mb: float | None = None):
        self.root = Path(root)
        self.description = str(self.root)
        self.bundle: Path | None = None
        self._limit = None if full_after_mb is None else int(full_after_mb * 1048576)
        self._written = 0
        self._mutex = threading.Lock()

    def preflight(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            marker = self.root / f".azs-pep-preflight-{os.getpid()}"
            if self._limit == 0:
                raise OSError(errno.ENOSPC, "There is not enough space on the disk.")
            marker.write_bytes(b"ok")
            marker.unlink()
        except OSError as e:
            reason = e.strerror or str(e)
            if self.root.exists() and not self.root.is_dir():
                reason = "a file of that name exists"
            raise DestinationError(
                f"Cannot write to the output path '{self.root}': {reason}", "OutputPathNotWritable",
                Category.WriteError) from None

    def open_bundle(self, bundle_name: str) -> str:
        self.bundle = self.root / bundle_name
        self.bundle.mkdir(parents=True, exist_ok=True)
        return str(self.bundle)

    def has(self, relpath: str, size: int) -> bool:
        assert self.bundle is not None
        p = self.bundle / relpath
        return p.is_file() and p.stat().st_size == size

    def deliver(self, local_path: Path, relpath: str, progress: Callable[[int], None] | None = None,
                stop: threading.Event | None = None) -> None:
        assert self.bundle is not None
        dest = self.bundle / relpath
        tmp = dest.with_name(f".{dest.name}.partial")
        size = os.path.getsize(local_path)
        with self._mutex:
            # The fault fills the disk with log zips only: the small output log and manifest still fit,
            # so the bundle can say what was lost.
            if self._limit is not None and relpath.endswith(".zip") and self._written + size > self._limit:
                raise DestinationError(
                    f"Cannot copy '{relpath}' to '{self.bundle}': There is not enough space on the disk.",
                    "DestinationFull", Category.WriteError)
            self._written += size
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:  # same file system as the staging folder: a hard link, no copy (the staged file is final)
                tmp.unlink(missing_ok=True)
                os.link(local_path, tmp)
                os.replace(tmp, dest)
                if progress:
                    progress(size)
                return
            except OSError:
                pass
            with open(local_path, "rb") as src, open(tmp, "wb") as out:
                while True:
                    if stop is not None and stop.is_set():
                        raise CollectionStopped("The copy to the folder was stopped.")  # the stop rule: never a failure
                    block = src.read(_CHUNK)
                    if not block:
                        break
                    out.write(block)
                    if progress:
                        progress(len(block))
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, dest)
        except OSError as e:
            raise DestinationError(f"Cannot copy '{relpath}' to '{self.bundle}': {e.strerror or e}",
                                   "DestinationWriteFailed", Category.WriteError) from None
        finally:
            if tmp.exists():
                try:
                    tmp.unlink()
                except OSError:
                    pass

    # -- interrupted bundles (collector.engine: the in-progress marker) ---------------------
    def running_bundles(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(bundle name, manifest) of every bundle folder here whose manifest.json says "running".
        Final manifests are large; only their first 64 KB is read to rule them out."""
        if not self.root.is_dir():
            return
        for d in sorted(self.root.glob("AzureStackLogs-*")):
            m = d / "manifest.json"
            try:
                if d.is_symlink() or not m.is_file():
                    continue
                with open(m, "rb") as f:
                    head = f.read(65536)
                if b'"running"' not in head:
                    continue
                data = json.loads(m.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(data, dict) and data.get("status") == "running":
                yield d.name, data

    def rewrite_manifest(self, bundle_name: str, text: str) -> str:
        """Replace a bundle's manifest.json atomically (temp name, fsync, rename); returns the bundle's path."""
        folder = self.root / bundle_name
        atomic_write(folder / "manifest.json", text)
        return str(folder)

    def close(self) -> None:
        pass

