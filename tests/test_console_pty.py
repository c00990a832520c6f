"""The `pep` console driven through a real pseudo-terminal (pexpect), as an operator would use it."""
from __future__ import annotations

import os
import re
import sys
import textwrap
import time
from pathlib import Path

import pytest

pexpect = pytest.importorskip("pexpect")

ROOT = Path(__file__).resolve().parent.parent
PROMPT = "[azs-ercs01]: PS>"
# prompt_toolkit redraws the prompt with the accepted line ("PS> text"); a fresh, empty prompt is
# "PS>" followed by cursor movement (its trailing space), which is what marks "command finished".
FRESH_PROMPT = re.compile(r"\[azs-ercs01\]: PS>\x1b\[")

# A console on a runspace that also sees one slow test cmdlet (injected through extra_commands),
# so Ctrl+C can be tried on a command that is really running.
LAUNCHER = textwrap.dedent("""
    import sys, time
    from powershell.commands import Cmdlet, Parameter
    from session.environment import Environment
    from session.runspace import Runspace
    from pep.console import run_console

    class TestSlowCommand(Cmdlet):
        name = "Test-SlowCommand"
        parameters = (Parameter("Speed", "string", position=0, validate_set=("Slow", "Fast")),)

        def invoke(self, ctx, params, input=None):
            steps = 3 if params.get("Speed") == "Fast" else 600
            for i in range(steps):
                ctx.check_stopped()
                ctx.write_progress("Working", f"step {i}", percent=i * 100 // steps)
                time.sleep(0.05)
            ctx.write_output("finished " + params.get("Speed", "Slow").lower())

    class TestAskCommand(Cmdlet):
        name = "Test-AskCommand"
        parameters = (Parameter("Label", "string", mandatory=True),)

        def invoke(self, ctx, params, input=None):
            ctx.write_output("label=" + params["Label"])

    rs = Runspace(Environment.from_options(None, None, None), extra_commands=[TestSlowCommand, TestAskCommand],
                  is_terminal=True)
    try:
        code = run_console(rs)
    finally:
        rs.close()
    print("CONSOLE-EXIT", code)
    sys.exit(code)
""")


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("pep-state")


@pytest.fixture
def console(state_dir):
    env = dict(os.environ, PROMPT_TOOLKIT_NO_CPR="1", TERM="xterm", PEP_STATE_DIR=str(state_dir),
               PYTHONPATH=str(ROOT))
    child = pexpect.spawn(sys.executable, ["-c", LAUNCHER], cwd=str(ROOT), env=env, encoding="utf-8",
                          dimensions=(40, 160), timeout=20)
    child.expect_exact(PROMPT)
    yield child
    if child.isalive():
        child.terminate(force=True)


def _run(child, line: str) -> str:
    """Type a line, wait for the next prompt, return what was printed in between."""
    child.sendline(line)
    child.expect(FRESH_PROMPT)
    return child.before


def test_prompt_and_a_command_end_to_end(console):
    out = _run(console, "Test-SlowCommand Fast")
    assert "finished fast" in out


def test_tab_completes_command_parameter_and_validateset_value(console):
    # prompt_toolkit inserts only what the completion adds to the typed text
    console.send("Get-AzureSt\t")
    console.expect_exact("Get-AzureStack")           # common prefix of the Get-AzureStack* cmdlets
    console.expect_exact("Get-AzureStackStampInformation")  # ... and the menu of candidates
    console.send("L\t")
    console.expect_exact("og")
    console.send("-FilterByRo\t")
    console.expect_exact("le")
    console.send("FabricRingS\t")
    console.expect_exact("ervices")
    console.send("\x15")                             # Ctrl+U: clear the line, do not run it
    console.send("test-slowcommand -sp\t")         # completion ignores case
    console.expect_exact("eed")
    console.send("Fa\t")
    console.expect_exact("st")
    out = _run(console, "")
    assert "finished fast" in out


def test_ctrl_c_stops_a_running_command_and_returns_to_the_prompt(console):
    console.sendline("Test-SlowCommand Slow")
    time.sleep(1.0)
    started = time.monotonic()
    console.sendcontrol("c")
    console.expect(FRESH_PROMPT)
    assert time.monotonic() - started < 5
    assert "Traceback" not in console.before
    assert "finished" not in console.before
    out = _run(console, "Test-SlowCommand Fast")     # the session is still usable
    assert "finished fast" in out


def test_ctrl_c_at_the_prompt_clears_the_line(console):
    console.send("Test-SlowCommand Fast")
    console.sendcontrol("c")
    console.expect_exact("^C")
    console.expect(FRESH_PROMPT)
    out = _run(console, "")
    assert "finished" not in out


@pytest.mark.parametrize("line", ["!ls", "py print(1)", "shell ls", "run_pyscript x", "@x.txt", "set debug true",
                                  "alias create x shell", "edit", "history", "shortcuts", "help", "quit"])
def test_cmd2_builtins_never_reach_python_or_the_os(console, line):
    out = _run(console, line)
    # Everything typed goes to the PEP runspace, which answers as PowerShell would.
    assert "FullyQualifiedErrorId" in out
    assert "pyproject.toml" not in out and "Traceback" not in out
    assert "Python" not in out


def test_unknown_word_gets_powershells_not_recognized_error(console):
    out = _run(console, "run_pyscript x")
    assert "The term 'run_pyscript' is not recognized as the name of a cmdlet" in out
    assert "CommandNotFoundException" in out


def test_backtick_continues_on_a_second_line(console):
    console.sendline("Test-SlowCommand `")
    console.expect_exact(">>")
    out = _run(console, "Fast")
    assert "finished fast" in out


def test_up_arrow_recalls_history(console):
    assert "finished fast" in _run(console, "Test-SlowCommand Fast")
    console.send("\x1b[A")
    console.expect_exact("Test-SlowCommand Fast")
    assert "finished fast" in _run(console, "")


def test_missing_mandatory_parameter_is_asked_for(console):
    console.sendline("Test-AskCommand")
    console.expect_exact("Supply values for the following parameters:")
    console.expect_exact("Label: ")
    out = _run(console, "blue")
    assert "label=blue" in out


def test_ctrl_d_leaves_with_exit_code_0(console):
    console.sendcontrol("d")
    console.expect_exact("CONSOLE-EXIT 0")
    console.expect(pexpect.EOF)
    console.close()
    assert console.exitstatus == 0


@pytest.mark.parametrize("word", ["exit", "Exit-PSSession"])
def test_exit_and_exit_pssession_leave(console, word):
    console.sendline(word)
    console.expect_exact("CONSOLE-EXIT 0")
    console.expect(pexpect.EOF)
    console.close()
    assert console.exitstatus == 0


def test_ctrl_c_at_a_parameter_prompt_returns_to_a_prompt_on_its_own_line(console):
    console.sendline("Test-AskCommand")
    console.expect_exact("Label: ")
    time.sleep(0.3)
    console.sendcontrol("c")
    console.expect(FRESH_PROMPT)
    # the new prompt must not start after "Label: ^C", where the line editor would redraw it wrongly
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", console.before)
    assert shown.endswith("\n")
    out = _run(console, "Test-SlowCommand Fast")
    assert "finished fast" in out
