"""Help + Support API latency: the median of `GET /api/collections` (a page of 50, newest first) with
10,000 history rows, against the median of a request the service answers without work
(`GET /api/collections/<unknown id>`: sign-in, routing, a 404 JSON answer) in the same run.

Target: at most 50 ms. Run: .venv/bin/python bench/portal.py [--rows 10000] [--runs 100]
The portal runs on its own event loop in this process (session.portal.service.PortalThread), over
plain HTTP on loopback with Basic sign-in, one kept-alive client connection.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.history import fill  # noqa: E402
from collector.history import History  # noqa: E402
from session.environment import Environment  # noqa: E402
from session.portal.service import PortalThread  # noqa: E402

PASSWORD = "Bench-P@ss1"
AUTH = ("AZURESTACK\\CloudAdmin", PASSWORD)


def median_ms(session: requests.Session, url: str, runs: int, expect: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        r = session.get(url, auth=AUTH, timeout=30)
        times.append(time.perf_counter() - t)
        assert r.status_code == expect, (r.status_code, r.text[:200])
    return statistics.median(times) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=100)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="azs-portal-bench-") as tmp:
        root = Path(tmp)
        env = Environment(state_dir=root / "state")
        fill(History(env.state), args.rows)
        (root / "pw").write_text(PASSWORD + "\n")
        portal = PortalThread(env, admin_password_file=str(root / "pw")).start()
        try:
            with requests.Session() as s:
                s.get(portal.url + "api/collections?limit=50", auth=AUTH, timeout=30)  # warm-up (sign-in cache)
                base = median_ms(s, portal.url + "api/collections/00000000-unknown", args.runs, 404)
                page = median_ms(s, portal.url + "api/collections?limit=50", args.runs, 200)
        finally:
            portal.stop()
    print(f"rows: {args.rows}, runs: {args.runs}")
    print(f"GET /api/collections/<unknown> (sign-in, routing, 404): median {base:.2f} ms")
    print(f"GET /api/collections?limit=50 over {args.rows} rows: median {page:.2f} ms "
          f"({page / base:.1f}x the 404); target <= 50 ms: {'met' if page <= 50 else 'NOT met'}")


if __name__ == "__main__":
    main()
