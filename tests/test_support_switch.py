"""The Help + Support outage switch (collector/support_switch.py, `pep support down|up|status`): kept
in the state directory, seen at once by another process, down keeps its first time."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from collector import support_switch
from session.environment import Environment

ROOT = Path(__file__).resolve().parents[1]


def pep(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PEP_STATE_DIR": str(state), "PYTHONPATH": str(ROOT)}
    env.pop("PEP_CONFIG", None)
    p = subprocess.run([sys.executable, "-m", "pep", *args], env=env, capture_output=True, text=True, timeout=60)
    assert "Traceback" not in p.stdout + p.stderr, p.stdout + p.stderr
    return p


def test_down_up_and_status_through_the_command_line_seen_live_by_this_process(tmp_path):
    state = tmp_path / "state"
    env = Environment(state_dir=state)  # "a running process": reads the switch on every call
    assert not support_switch.is_down(env) and support_switch.went_down(env) is None
    assert pep(state, "support", "status").stdout.strip() == "up"

    p = pep(state, "support", "down", "--reason", "storage maintenance")
    assert p.returncode == 0 and "Help + Support is down since" in p.stdout and "storage maintenance" in p.stdout
    assert "Get-AzureStackLog" in p.stdout  # names the PEP fallback
    assert support_switch.is_down(env)
    since = support_switch.went_down(env)
    assert since is not None and abs(datetime.now(timezone.utc) - since) < timedelta(minutes=1)
    s = pep(state, "support", "status")
    assert s.returncode == 0 and s.stdout.startswith("down since ") and "storage maintenance" in s.stdout

    # down again keeps the time it first went down
    pep(state, "support", "down")
    assert support_switch.went_down(env) == since

    u = pep(state, "support", "up")
    assert u.returncode == 0 and "is up" in u.stdout
    assert not support_switch.is_down(env) and support_switch.went_down(env) is None
    assert pep(state, "support", "status").stdout.startswith("up since ")


def test_no_subcommand_is_a_usage_error(tmp_path):
    p = pep(tmp_path / "state", "support")
    assert p.returncode == 2 and "usage: pep support" in p.stderr


def test_the_state_is_one_atomic_file_and_garbage_reads_as_up(tmp_path):
    env = Environment(state_dir=tmp_path / "state")
    t = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
    s = support_switch.set_down(env, "test", now=t)
    assert s == support_switch.SwitchStatus(True, t, "test")
    path = tmp_path / "state" / "help-support" / support_switch.SWITCH_FILE
    assert path.is_file() and not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    assert support_switch.set_up(env, now=t + timedelta(hours=1)) == support_switch.SwitchStatus(False, t + timedelta(hours=1))
    path.write_text("{not json")
    assert not support_switch.is_down(env)
