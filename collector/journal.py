"""The resume journal: what a collection has already finished, kept in the state directory and
keyed by the request (the parameters as the user gave them), so running the same command after a
crash or kill -9 picks up where it stopped. Finished zips are never built or delivered twice.

The journal is an append-only JSON Lines file: a header, then one record per zip built (with its
files), delivered (its name) or forgotten, then a `finished` record. Each record is flushed to the operating system as it is
written, so a killed process loses nothing; a torn last line (a crash mid-write) is ignored, which
at worst means a zip is rebuilt. Rewriting and fsyncing a whole JSON file per zip cost about a
third of the packing threads' time.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO


def request_key(params: dict[str, Any]) -> str:
    """A stable key of the request. Secrets only enter it hashed (a SAS URL is part of what makes two
    requests different, but the journal must not hold it)."""
    canon = json.dumps(params, sort_keys=True, default=str)
    return hashlib.sha256(canon.encode()).hexdigest()[:24]


class Journal:
    def __init__(self, path: Path, data: dict[str, Any]):
        self.path = path
        self.data = data
        self._lock = threading.Lock()
        self._f: TextIO | None = None  # opened on the first record, kept open (one open per run, not per record)

    @classmethod
    def open(cls, directory: Path, key: str, fresh: dict[str, Any], max_age_hours: float) -> tuple[Journal, bool]:
        """(journal, resumed). An unfinished journal younger than max_age_hours is resumed."""
        path = Path(directory) / f"{key}.jsonl"
        data, good = _replay(path)
        if data is not None and not data.get("finished"):
            created = datetime.fromisoformat(data["created"])
            if (datetime.now(timezone.utc) - created).total_seconds() / 3600 <= max_age_hours:
                # Drop a torn last line, so what this run appends starts on a line of its own.
                os.truncate(path, good)
                return cls(path, data), True
        header = {**fresh, "key": key, "created": datetime.now(timezone.utc).isoformat()}
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(json.dumps(header, default=str) + "\n")
        return cls(path, {**header, "zips": {}, "finished": False}), False

    def _append(self, record: dict[str, Any], sync: bool = False) -> None:
        line = json.dumps(record, default=str) + "\n"
        if self._f is None:
            self._f = open(self.path, "a", encoding="utf-8")
        self._f.write(line)
        self._f.flush()  # to the operating system: a kill -9 loses nothing written
        if sync:
            os.fsync(self._f.fileno())

    def zips(self) -> dict[str, dict[str, Any]]:
        zips: dict[str, dict[str, Any]] = self.data["zips"]
        return zips

    def record_zip(self, name: str, entry: dict[str, Any]) -> None:
        with self._lock:
            self.data["zips"][name] = entry
            self._append({"zip": name, "entry": entry})

    def record_delivered(self, name: str, **extra: Any) -> None:
        """A built zip reached the destination: a short record (the zip's file list is already
        in the journal from when it was built)."""
        with self._lock:
            self.data["zips"][name].update(delivered=True, **extra)
            self._append({"delivered": name, **extra})

    def forget_zip(self, name: str) -> None:
        """A zip that was built but is lost (staging gone, not at the destination): collect it again."""
        with self._lock:
            self.data["zips"].pop(name, None)
            self._append({"forget": name})

    def finish(self) -> None:
        with self._lock:
            self.data["finished"] = True
            self._append({"finished": True}, sync=True)
            self.close()

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None


def _replay(path: Path) -> tuple[dict[str, Any] | None, int]:
    """(the journal's state from its records or None when there is no usable journal, the length in
    bytes of its whole records)."""
    try:
        lines = path.read_bytes().splitlines(keepends=True)
        data = json.loads(lines[0])
        data.update(zips={}, finished=False)
        datetime.fromisoformat(data["created"])
    except (OSError, ValueError, KeyError, IndexError):
        return None, 0
    good = len(lines[0])
    for line in lines[1:]:
        try:
            if not line.endswith(b"\n"):
                raise ValueError("torn")
            record = json.loads(line)
        except ValueError:
            break  # a torn last line: everything before it stands
        good += len(line)
        if "zip" in record:
            data["zips"][record["zip"]] = record["entry"]
        elif "delivered" in record:
            extra = {k: v for k, v in record.items() if k != "delivered"}
            data["zips"].get(record["delivered"], {}).update(delivered=True, **extra)
        elif "forget" in record:
            data["zips"].pop(record["forget"], None)
        elif record.get("finished"):
            data["finished"] = True
    return data, good
