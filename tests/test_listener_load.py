"""Load: 20 concurrent sessions x 50 commands against one listener, no failure, memory printed."""
from __future__ import annotations

import resource
import threading
import time

from pypsrp.powershell import PowerShell, RunspacePool
from test_listener_support import start_listener, wsman

SESSIONS, COMMANDS = 20, 50


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_twenty_sessions_fifty_commands_each(tmp_path):
    lt = start_listener(tmp_path)
    failures: list[str] = []
    done = [0] * SESSIONS
    rss_mid: list[float] = []

    def client(i: int) -> None:
        try:
            with RunspacePool(wsman(lt.port, "ntlm", False), configuration_name="PrivilegedEndpoint") as pool:
                for n in range(COMMANDS):
                    ps = PowerShell(pool)
                    ps.add_cmdlet("Test-ListenerStreams").add_parameter("Count", 2)
                    out = ps.invoke()
                    if len(out) != 2 or ps.had_errors or len(ps.streams.error) != 1:
                        failures.append(f"session {i} command {n}: {len(out)} objects, had_errors={ps.had_errors}")
                    done[i] += 1
                    if i == 0 and n == COMMANDS // 2:
                        rss_mid.append(_rss_mb())
        except Exception as e:  # report, don't hang the test
            failures.append(f"session {i}: {type(e).__name__}: {e}")

    try:
        rss_before = _rss_mb()
        t0 = time.monotonic()
        threads = [threading.Thread(target=client, args=(i,)) for i in range(SESSIONS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        elapsed = time.monotonic() - t0
        rss_after = _rss_mb()
        open_shells = lt.call(lambda: len(lt.listener.table.shells))
    finally:
        lt.stop()
    total = sum(done)
    print(f"\nload: {SESSIONS} sessions x {COMMANDS} commands = {total} in {elapsed:.1f} s "
          f"({total / elapsed:.0f} commands/s); RSS (client+server process) before {rss_before:.0f} MB, "
          f"mid {rss_mid[0] if rss_mid else float('nan'):.0f} MB, after {rss_after:.0f} MB; shells left open: {open_shells}")
    assert not failures, failures[:5]
    assert total == SESSIONS * COMMANDS
    assert open_shells == 0
    assert rss_after - rss_before < 200
