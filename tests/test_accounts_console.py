"""The account cmdlets at the real `pep` console through a pseudo-terminal (pexpect): values left out
are asked for as PowerShell asks for mandatory parameters, the password masked; Remove-CloudAdminUser
asks first and No is the default."""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

pexpect = pytest.importorskip("pexpect")

ROOT = Path(__file__).resolve().parent.parent
FRESH_PROMPT = re.compile(r"\[azs-ercs01\]: PS>\x1b\[")
SECRET = "Typ3d-at-the-prompt!"


@pytest.fixture
def console(tmp_path):
    env = dict(os.environ, PROMPT_TOOLKIT_NO_CPR="1", TERM="xterm", PEP_STATE_DIR=str(tmp_path / "state"),
               PYTHONPATH=str(ROOT))
    env.pop("PEP_CONFIG", None)
    child = pexpect.spawn(sys.executable, ["-m", "pep"], cwd=str(ROOT), env=env, encoding="utf-8",
                          dimensions=(40, 160), timeout=30)
    child.expect(FRESH_PROMPT)
    yield child, tmp_path / "state"
    if child.isalive():
        child.terminate(force=True)


def _run(child, line: str) -> str:
    child.sendline(line)
    child.expect(FRESH_PROMPT)
    return child.before


def test_values_left_out_are_prompted_for_and_the_password_is_masked(console):
    child, state = console
    child.sendline("New-CloudAdminUser")
    child.expect_exact("cmdlet New-CloudAdminUser at command pipeline position 1")
    child.expect_exact("Supply values for the following parameters:")
    child.expect_exact("UserName: ")
    child.sendline("Operator2")
    child.expect_exact("Password: ")
    child.sendline(SECRET)
    child.expect(FRESH_PROMPT)
    assert SECRET not in child.before  # not echoed
    assert "Operator2@azurestack.local" in _run(child, "Get-CloudAdminUserList")
    assert _run(child, f"New-CloudAdminUser -UserName Operator3 -Password '{SECRET}'").count("Error") == 0

    # Remove asks; Enter takes the default, No
    child.sendline("Remove-CloudAdminUser Operator3")
    child.expect_exact("Are you sure you want to remove the CloudAdmin user 'Operator3'?")
    child.expect_exact('(default is "N"): ')
    child.sendline("")
    child.expect(FRESH_PROMPT)
    assert "Operator3" in _run(child, "Get-CloudAdminUserList")
    child.sendline("Remove-CloudAdminUser Operator3")
    child.expect_exact('(default is "N"): ')
    child.sendline("y")
    child.expect(FRESH_PROMPT)
    assert "Operator3" not in _run(child, "Get-CloudAdminUserList")

    # the password left out of Set-CloudAdminUserPassword is asked for too, masked
    child.sendline("Set-CloudAdminUserPassword -UserName Operator2")
    child.expect_exact("CurrentPassword: ")
    child.sendline(SECRET)
    child.expect_exact("NewPassword: ")
    child.sendline("An0ther-pass!")
    child.expect(FRESH_PROMPT)
    assert "An0ther-pass!" not in child.before and "Error" not in child.before
    child.sendline("exit")
    child.expect(pexpect.EOF)
    audit = (state / "logs" / "accounts.log").read_text()
    assert "password changed: AZURESTACK\\Operator2" in audit and SECRET not in audit
