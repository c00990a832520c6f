"""`pep -c ... | head -1`: a reader that goes away is not an error of the command. Through a real
shell pipe: the pipeline stops quietly, `pep` exits 141 (what a shell shows for a broken pipe), and
nothing else is said: no traceback, no InternalError record, no internal-errors.log."""
from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _through_a_pipe(tmp_path: Path, args: str, reader: str) -> tuple[str, str, int]:
    pep = f"{shlex.quote(sys.executable)} -m pep --state-dir {shlex.quote(str(tmp_path / 'state'))}"
    script = f'{pep} {args} | {reader}; echo "status=${{PIPESTATUS[0]}}" >&2'
    done = subprocess.run(["bash", "-c", script], cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    err, _, status = done.stderr.rpartition("status=")
    return done.stdout, err, int(status)


@pytest.mark.parametrize("args, reader, first", [
    ("-c Test-AzureStack", "head -1", "Starting Test-AzureStack"),  # Write-Host lines as they happen
    ("-c Get-Command", "true", None),  # a table rendered when the pipeline ends, reader already gone
    ("-c Test-AzureStack", "true", None),
    ("--json -c Get-Command", "head -1", '{"CommandType": "Function"'),
])
def test_a_closed_stdout_stops_the_command_quietly(tmp_path, args, reader, first):
    out, err, status = _through_a_pipe(tmp_path, args, reader)
    if first is not None:
        assert out.startswith(first)
    assert err == ""  # no traceback, no error record, no "Exception ignored" at exit
    assert status in (141, 0)  # 0 only when everything fitted in the pipe before the reader left
    assert not (tmp_path / "state" / "logs" / "internal-errors.log").exists()
    if reader == "true":
        assert status == 141


def test_a_closed_stdout_is_the_stop_of_a_pipeline_stopped_by_its_consumer(tmp_path):
    # the command is still recorded, as any stopped command is
    _, err, status = _through_a_pipe(tmp_path, "-c Test-AzureStack", "true")
    assert (err, status) == ("", 141)
    transcripts = "".join(p.read_text() for p in (tmp_path / "state" / "transcripts").glob("*.txt"))
    assert "Test-AzureStack" in transcripts
