"""Listing the collection history: the median time of one newest-first page out of 10,000 rows
through collector.history.History.list_rows, against listing the 10,000 file names of its folder
(os.listdir) measured in the same run.

Target: a page in at most 50 ms. Run: .venv/bin/python bench/history.py [--rows 10000] [--page 50] [--runs 50]
The rows are real HistoryRow JSON files (written without fsync, to make the setup quick); pages are
taken from the front, the middle and the end of the list in turn.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from collector.history import CollectionType, History, HistoryStatus, Origin, new_row  # noqa: E402
from common.state import StateDir  # noqa: E402


def fill(history: History, rows: int) -> None:
    t0 = datetime.now(timezone.utc) - timedelta(days=80)
    step = timedelta(days=79) / rows
    for i in range(rows):
        t = t0 + step * i
        row = new_row(Origin(CollectionType.AUTOMATIC if i % 3 else CollectionType.PEP), started=t,
                      destination="https://acct.blob.core.windows.net/logs", logs_start=t - timedelta(hours=4),
                      logs_end=t, command="Get-AzureStackLog", stamp="azs", bundle=f"AzureStackLogs-{i}")
        row = replace(row, status=HistoryStatus.COMPLETE, files=1924, size_mb=1598.0, zips=40,
                      duration_seconds=3600.0, errors=("ECE on azs-ercs02: partial: unreadable",) if i % 7 == 0 else ())
        (history.rows_dir / f"{row.id}.json").write_text(json.dumps(row.to_json(), separators=(",", ":")))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--page", type=int, default=50)
    ap.add_argument("--runs", type=int, default=50)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="azs-history-bench-") as tmp:
        history = History(StateDir(Path(tmp)))
        fill(history, args.rows)
        offsets = [0, args.rows // 2, max(0, args.rows - args.page)]
        listing, pages = [], []
        for i in range(args.runs):
            t = time.perf_counter()
            names = os.listdir(history.rows_dir)
            listing.append(time.perf_counter() - t)
            t = time.perf_counter()
            page = history.list_rows(offsets[i % 3], args.page)
            pages.append(time.perf_counter() - t)
            assert page.total == len(names) == args.rows and len(page.rows) == args.page
        base, page_ms = statistics.median(listing) * 1000, statistics.median(pages) * 1000
        print(f"rows: {args.rows}, page: {args.page}, runs: {args.runs}")
        print(f"listing {args.rows} file names (os.listdir): median {base:.2f} ms")
        print(f"one page newest first (History.list_rows): median {page_ms:.2f} ms "
              f"({page_ms / base:.1f}x the listing); target <= 50 ms: {'met' if page_ms <= 50 else 'NOT met'}")


if __name__ == "__main__":
    main()
