"""The resume journal: what a collection has already finished, kept in the state directory and
keyed by the request (the parameters as the user gave them), so running the same command after a
crash or kill -9 picks up where it stopped. Finished zips are never built or delivered twice.
"""
from __future__ import annotations

import hashlib
import json
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from session.state import atomic_write_json


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

    @classmethod
    def open(cls, directory: Path, key: str, fresh: dict[str, Any], max_age_hours: float) -> tuple["Journal", bool]:
        """(journal, resumed). An unfinished journal younger than max_age_hours is resumed."""
        path = Path(directory) / f"{key}.json"
        try:
            data = json.loads(path.read_text())
            created = datetime.fromisoformat(data["created"])
            age = (datetime.now(timezone.utc) - created).total_seconds() / 3600
            if not data.get("finished") and age <= max_age_hours:
                return cls(path, data), True
        except (OSError, ValueError, KeyError):
            pass
        data = {**fresh, "key": key, "created": datetime.now(timezone.utc).isoformat(), "zips": {}, "finished": False}
        j = cls(path, data)
        j.save()
        return j, False

    def save(self) -> None:
        with self._lock:
            atomic_write_json(self.path, self.data)

    def zips(self) -> dict[str, dict[str, Any]]:
        return self.data["zips"]

    def record_zip(self, name: str, entry: dict[str, Any]) -> None:
        with self._lock:
            self.data["zips"][name] = entry
        self.save()

    def finish(self) -> None:
        self.data["finished"] = True
        self.save()
