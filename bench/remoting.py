"""Remoting benchmark: pypsrp against `pep serve` on loopback (server in its own process).

    .venv/bin/python -m bench.remoting [--n 200]

Prints:
  * median round trip of one command on an open pool (NTLM + encryption)        target <= 15 ms
  * median open-run-close, execute_ps style: new connection + NTLM handshake,
    open pool, one command, close (NTLM + encryption)                            target <= 30 ms
  * commands/s with 8 concurrent clients, each on its own open pool              target >= 50
Baseline measured in the same run: a bare authenticated WS-Man round trip (Get on the shell,
no PSRP, no runspace), so the figures can be read against the transport's own cost.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Bench-P@ss1"
USER = "AZURESTACK\\CloudAdmin"
CMD = "Get-AzureStackStampInformation"


def serve(port_file: str, state: str) -> None:
    from session.environment import Environment
    from session.listener.server import ListenerThread

    os.environ["PEP_ADMIN_PASSWORD"] = PASSWORD
    env = Environment(state_dir=state)
    kwargs = {}
    if os.environ.get("BENCH_NO_TRANSCRIPT"):  # diagnostic: the transcript's per-command fsync excluded
        from session.runspace import Runspace

        kwargs["runspace_factory"] = lambda shell, host: Runspace(env, host=host, user=shell.owner, transcript=False)
    lt = ListenerThread(env, **kwargs).start()
    Path(port_file).write_text(str(lt.port))
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        lt.stop()


def _wsman(port: int):
    from pypsrp.wsman import WSMan

    return WSMan("127.0.0.1", port=port, ssl=False, auth="ntlm", username=USER, password=PASSWORD, encryption="auto")


def _invoke(pool) -> None:
    from pypsrp.powershell import PowerShell

    ps = PowerShell(pool)
    ps.add_cmdlet(CMD)
    out = ps.invoke()
    if ps.had_errors or len(out) != 1:
        raise RuntimeError(f"unexpected result: {out} {[str(e) for e in ps.streams.error]}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--serve", nargs=2, metavar=("PORT_FILE", "STATE_DIR"))
    args = ap.parse_args()
    if args.serve:
        serve(*args.serve)
        return 0

    from pypsrp.powershell import RunspacePool

    tmp = tempfile.mkdtemp(prefix="pep-bench-")
    port_file = Path(tmp) / "port"
    proc = subprocess.Popen([sys.executable, "-m", "bench.remoting", "--serve", str(port_file), str(Path(tmp) / "state")],
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text():
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("server did not start")
            time.sleep(0.05)
        port = int(port_file.read_text())
        n = args.n

        with RunspacePool(_wsman(port), configuration_name="PrivilegedEndpoint") as pool:
            for _ in range(10):
                _invoke(pool)
            base = []
            for _ in range(n):
                t = time.perf_counter()
                pool.shell._get_shell()
                base.append(time.perf_counter() - t)
            rt = []
            for _ in range(n):
                t = time.perf_counter()
                _invoke(pool)
                rt.append(time.perf_counter() - t)

        orc = []
        for _ in range(max(20, n // 4)):
            t = time.perf_counter()
            w = _wsman(port)
            with RunspacePool(w, configuration_name="PrivilegedEndpoint") as pool:
                _invoke(pool)
            w.close()
            orc.append(time.perf_counter() - t)

        per_client = max(25, n // 4)
        errors: list[str] = []

        def client() -> None:
            try:
                with RunspacePool(_wsman(port), configuration_name="PrivilegedEndpoint") as pool:
                    barrier.wait()
                    for _ in range(per_client):
                        _invoke(pool)
            except Exception as e:
                errors.append(repr(e))

        barrier = threading.Barrier(9)
        threads = [threading.Thread(target=client) for _ in range(8)]
        for th in threads:
            th.start()
        barrier.wait()
        t = time.perf_counter()
        for th in threads:
            th.join()
        rate = 8 * per_client / (time.perf_counter() - t)
        if errors:
            print("errors:", errors[:3])
            return 1

        ms = lambda xs: statistics.median(xs) * 1000  # noqa: E731
        print(f"baseline: authenticated WS-Man Get round trip (NTLM+encryption)  median {ms(base):6.2f} ms")
        print(f"command round trip on an open pool ({CMD})     median {ms(rt):6.2f} ms  "
              f"({ms(rt) / ms(base):.1f}x baseline; target <= 15 ms)")
        print(f"open-run-close, new connection + NTLM + encryption             median {ms(orc):6.2f} ms  "
              f"(target <= 30 ms)")
        print(f"8 concurrent clients                                           {rate:6.1f} commands/s  (target >= 50)")
        return 0
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    sys.exit(main())
