"""Arbitrary text at the one-shot entry point never produces a Python traceback: every input ends in
output, an error record, or nothing at all when it holds no command (blank, comment)."""
from __future__ import annotations

import subprocess
import sys

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from powershell.pipeline import ListSink
from session.environment import Environment
from session.runspace import Runspace

FRAGMENTS = [
    "Get-Command", "Get-Help", "Select-Object", "Measure-Object", "Get-AzureStackStampInformation", "gcm",
    " ", " -", "-Name", "-F", "-Syntax", ":", "$true", "$false", "$null", "$x", "$using:x", "$env:PATH",
    "$(", ")", "(", "{", "}", "@(", "@{", "[datetime]", "::", ".", ",", ";", "|", "||", "&&", "&", ">", "2>&1",
    "<", "'", '"', "`", "`n", "\n", "\r", "#", "<#", "#>", "@'", "'@", '@"', '"@', "--%", "0x1F", "10kb", "1e5",
    "*", "?", "Get-*", "Out-Default", "Exit-PSSession", ".AddHours(", "(Get-Date)", "[int]", "$a=", "@()",
]
fuzz_text = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=4)), max_size=12).map("".join)


def test_arbitrary_text_ends_in_output_or_error_records(tmp_path):
    env = Environment(state_dir=tmp_path)
    rs = Runspace(env, transcript=False)

    @settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
              phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink])
    @given(fuzz_text)
    def check(text):
        rs.exit_requested = False
        sink = ListSink()
        result = rs.invoke(text, sink)  # must not raise
        assert result.state in ("Completed", "Failed", "Stopped")
        if result.state == "Failed":
            assert sink.errors, f"failed without an error record: {text!r}"
        for record in sink.errors:
            assert "Traceback" not in str(record)
            assert record.FullyQualifiedErrorId
            # An internal error is a bug caught by the last-resort guard, not an answer.
            assert not record.FullyQualifiedErrorId.startswith("InternalError"), (text, str(record))

    check()


def test_one_shot_process_never_prints_a_traceback(tmp_path):
    inputs = ["Get-Command -Name", "Get-Help $(", "'unterminated", "{", "Get-AzureStackLog -F x", "&& ||", "`",
              "(Get-Date).AddHours(-8)", "[IO.File]::ReadAllText('x')"]
    for text in inputs:
        proc = subprocess.run(
            [sys.executable, "-m", "pep", "--state-dir", str(tmp_path), "-c", text],
            capture_output=True, text=True, timeout=60,
        )
        assert proc.returncode == 1, (text, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr + proc.stdout
        assert "FullyQualifiedErrorId" in proc.stderr + proc.stdout
        assert "InternalError" not in proc.stderr + proc.stdout
