"""Get-ClusterLog's work: merge a node's failover-cluster logs (Storage/Cluster/*.log) into one
<node>_cluster.log, keeping the records since a time, optionally rewriting times to local time.
Streams line by line: never holds a log in memory.
"""
from __future__ import annotations

import os
import threading
from datetime import datetime, timezone
from pathlib import Path

from collector.errors import CollectionStopped
from collector.stampgen import HOSTS_DIR
from collector.timefmt import parse_line


def _rolls(folder: Path) -> list[Path]:
    """cluster.N.log (oldest = highest N) ... cluster.1.log, then the active cluster.log."""
    def order(p: Path) -> int:
        parts = p.name.split(".")
        return -int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else 0
    return sorted(folder.glob("cluster*.log"), key=order)


def write_cluster_log(root: Path, node: str, dest: Path, since: datetime | None, local_time: bool,
                      stop: threading.Event | None = None) -> Path:
    out = dest / f"{node}_cluster.log"
    tmp = out.with_name(out.name + ".partial")
    zone = "local time" if local_time else "GMT"
    with open(tmp, "w", encoding="utf-8", newline="\n") as w:
        w.write(f"[===Cluster Logs===] node {node}, times in {zone}\n")
        for p in _rolls(Path(root) / HOSTS_DIR / node / "Storage" / "Cluster"):
            if since is not None and datetime.fromtimestamp(p.stat().st_mtime, timezone.utc) < since:
                continue  # the whole roll ends before the span: not even opened
            with open(p, encoding="utf-8", errors="replace") as r:
                for n, line in enumerate(r):
                    if stop is not None and n % 4096 == 0 and stop.is_set():
                        raise CollectionStopped("The cluster log was stopped.")
                    ts = parse_line(line)
                    if ts is None or (since is not None and ts < since):
                        continue
                    if local_time:
                        old = f"{ts:%Y/%m/%d-%H:%M:%S}"
                        line = line.replace(old, f"{ts.astimezone():%Y/%m/%d-%H:%M:%S}", 1)
                    w.write(line)
    os.replace(tmp, out)
    return out
