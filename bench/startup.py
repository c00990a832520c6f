"""Time to the first `PS>` prompt of `pep`, against `python -c "import cmd2"` measured in the same run.

Target: ratio <= 1.5. Run: .venv/bin/python bench/startup.py [--runs N]
Both are measured as wall time from spawn: the baseline until the process exits, pep until its
prompt appears on a pseudo-terminal (then it is told to exit).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import pexpect


def time_baseline() -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import cmd2"], check=True)
    return time.perf_counter() - t0


def time_prompt(state_dir: str) -> float:
    env = dict(os.environ, PROMPT_TOOLKIT_NO_CPR="1", PEP_STATE_DIR=state_dir)
    t0 = time.perf_counter()
    child = pexpect.spawn(sys.executable, ["-m", "pep"], env=env, encoding="utf-8", dimensions=(40, 160))
    child.expect_exact("PS>", timeout=30)
    elapsed = time.perf_counter() - t0
    child.sendline("exit")
    child.expect(pexpect.EOF, timeout=10)
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    runs = ap.parse_args().runs
    with tempfile.TemporaryDirectory() as state:
        time_prompt(state)  # warm the file cache and create the state directory
        time_baseline()
        base = [time_baseline() for _ in range(runs)]
        pep = [time_prompt(state) for _ in range(runs)]
    b, p = statistics.median(base), statistics.median(pep)
    print(f"baseline  python -c 'import cmd2'  median {b * 1000:7.1f} ms  (min {min(base) * 1000:.1f})")
    print(f"pep       time to first prompt     median {p * 1000:7.1f} ms  (min {min(pep) * 1000:.1f})")
    print(f"ratio     {p / b:.2f}  (target <= 1.50)  {'OK' if p / b <= 1.5 else 'OVER TARGET'}")


if __name__ == "__main__":
    main()
