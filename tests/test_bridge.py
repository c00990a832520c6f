"""The workstation side against `pep serve` on loopback: `pep run` scripts in the reference's
documented pattern (credential, New-PSSession -ConfigurationName PrivilegedEndpoint, dates computed
locally, Invoke-Command with $using:, Remove-PSSession), collecting to a real Samba share and a real
Azurite container; streams, errors, stop, Enter-PSSession and the `pep connect` shell."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from test_listener_support import PASSWORD, TEST_CMDLETS, USER

from collector.stampgen import generate
from pep.bridge.frontends import workstation_runspace
from pep.bridge.shell import WorkstationShell
from powershell.formatting import format_error
from powershell.pipeline import ListSink
from remoting.state import state_of
from session.environment import Environment
from session.listener.server import ListenerThread

ROOT = Path(__file__).resolve().parent.parent
CLOUD = "[cloudadmin]"


@pytest.fixture(scope="module")
def stamp(tmp_path_factory):
    # a small stamp whose logs end now, so dates computed with (Get-Date).AddHours(-2) find logs
    return generate(tmp_path_factory.mktemp("stamp"), nodes=2, days=0.25, mb_per_hour=0.2, seed=3,
                    end=datetime.now(timezone.utc))


def _listener(tmp: Path, stamp: Path, **kw):
    env = Environment(stamp_dir=stamp, state_dir=tmp / "serve-state")
    pw = tmp / "admin-password"
    pw.write_text(PASSWORD + "\n")

    def make(shell, host):
        from session.runspace import Runspace

        return Runspace(env, host=host, user=shell.owner, extra_commands=TEST_CMDLETS)

    return ListenerThread(env, admin_password_file=str(pw), runspace_factory=make, **kw).start()


@pytest.fixture(scope="module")
def listener(tmp_path_factory, stamp):
    lt = _listener(tmp_path_factory.mktemp("http"), stamp)
    yield lt
    lt.stop()


@pytest.fixture(scope="module")
def https_listener(tmp_path_factory, stamp):
    lt = _listener(tmp_path_factory.mktemp("https"), stamp, https=True)
    yield lt
    lt.stop()


@pytest.fixture
def rs(tmp_path):
    runspace = workstation_runspace(Environment(state_dir=tmp_path / "ws"))
    yield runspace
    state_of(runspace).close_all()
    runspace.close()


def preamble(port: int, extra: str = "", user: str = USER, password: str = PASSWORD,
             config: str = "PrivilegedEndpoint") -> str:
    return (f'$pw = ConvertTo-SecureString "{password}" -AsPlainText -Force\n'
            f'$cred = New-Object System.Management.Automation.PSCredential("{user}", $pw)\n'
            f"$s = New-PSSession -ComputerName 127.0.0.1 -Port {port} -ConfigurationName {config} "
            f"-Credential $cred -SessionOption (New-PSSessionOption -Culture en-US -UICulture en-US) {extra}\n")


def run(rs, text, stop=None):
    sink = ListSink()
    result = rs.invoke(text, sink, stop_event=stop)
    return result, sink


def messages(sink):
    return [f"{e.FullyQualifiedErrorId}: {e.Exception.Message}" for e in sink.errors]


def pep_run(script: Path, state: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), PEP_STATE_DIR=str(state))
    return subprocess.run([sys.executable, "-m", "pep", "run", str(script)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def test_documented_pattern_with_pep_run_collects_to_a_real_share(listener, samba, tmp_path):
    script = tmp_path / "collect.ps1"
    script.write_text(preamble(listener.port) + f"""
$shareCred = New-Object System.Management.Automation.PSCredential("{samba.user}", (ConvertTo-SecureString "{samba.password}" -AsPlainText -Force))
$share = "{samba.unc().replace(chr(92), chr(92))}"
$fromDate = (Get-Date).AddHours(-2)
$toDate = (Get-Date).AddMinutes(-5)
$stampInfo = Invoke-Command -Session $s {{ Get-AzureStackStampInformation }}
Write-Host "CloudId: $($stampInfo.CloudId)"
Invoke-Command -Session $s {{ Get-AzureStackLog -OutputSharePath $using:share -OutputShareCredential $using:shareCred -FilterByRole SeedRing,ECE -FromDate $using:fromDate -ToDate $using:toDate }}
Remove-PSSession $s
""")
    done = pep_run(script, tmp_path / "state")
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"CloudId: [0-9a-f-]{36}", done.stdout) and "Traceback" not in done.stdout + done.stderr
    bundles = [p for p in samba.path.iterdir() if p.name.startswith("AzureStackLogs-")]
    assert bundles, done.stdout
    newest = max(bundles, key=lambda p: p.stat().st_mtime)
    assert (newest / "manifest.json").exists()
    assert list(newest.glob("*.zip"))
    assert samba.password not in done.stdout + done.stderr


def test_documented_pattern_collects_to_a_real_blob_container(listener, azurite, rs):
    sas = azurite.make_container_sas("bridge-logs")
    result, sink = run(rs, preamble(listener.port) + f"""
$sas = "{sas}"
$fromDate = (Get-Date).AddHours(-2)
$toDate = Get-Date
Invoke-Command -Session $s {{ Get-AzureStackLog -OutputSasUri $using:sas -FilterByRole SeedRing -FromDate $using:fromDate -ToDate $using:toDate }}
Remove-PSSession $s
""")
    assert not sink.errors, messages(sink)
    blobs = [b.name for b in azurite.service().get_container_client("bridge-logs").list_blobs()]
    assert any(n.endswith("manifest.json") for n in blobs), blobs
    assert sink.progresses, "remote progress records reach the local sink"
    assert not state_of(rs).sessions  # Remove-PSSession closed and forgot it


def test_remote_objects_errors_and_streams_arrive_as_local_records(listener, rs):
    result, sink = run(rs, preamble(listener.port) + """
$shareCred = New-Object System.Management.Automation.PSCredential("AZURESTACK\\Share", (ConvertTo-SecureString "s3cret!" -AsPlainText -Force))
$fromDate = [datetime]"2026-11-25T08:00:00Z"
$typed = Invoke-Command -Session $s { Test-ListenerTyped -Credential $using:shareCred -FromDate $using:fromDate -Roles Storage,SQL }
$typed
Invoke-Command -Session $s { Test-ListenerStreams 3 -Verbose }
""")
    typed, *items = sink.outputs
    session = rs.variables["s"]
    assert session.ConfigurationName == "PrivilegedEndpoint" and session.State == "Opened"
    # the PSCredential crossed encrypted and was decrypted by the endpoint; the date kept its instant
    assert typed.UserName == "AZURESTACK\\Share" and typed.Password == "s3cret!"
    assert typed.FromDate.startswith("2026-11-25T08:00:00") and typed.Roles == "Storage,SQL"
    assert typed.PSComputerName == "127.0.0.1"
    assert [i.Name for i in items] == ["item0", "item1", "item2"]
    assert "AzureStack.Test" in items[0].PSObject.type_names
    (err,) = sink.errors
    assert err.FullyQualifiedErrorId == "NodeUnreachable,Test-ListenerStreams"
    assert str(err.CategoryInfo.Category) == "ConnectionError" or err.CategoryInfo.Category.name == "ConnectionError"
    assert err.CategoryInfo.TargetName == "S-Cluster-03"
    assert sink.warnings == ["something to look at"] and sink.verboses == ["details"]
    assert [p.PercentComplete for p in sink.progresses] == [0, 33, 66, 100]


def test_a_session_given_by_position_is_the_session(listener, rs):
    # `Invoke-Command $s { ... }` and `Enter-PSSession $s` are how operators usually write it
    result, sink = run(rs, preamble(listener.port) + """
Invoke-Command $s { Test-ListenerStreams 1 }
Enter-PSSession $s
Test-ListenerStreams 1
exit
""")
    assert messages(sink) == ["NodeUnreachable,Test-ListenerStreams: " + sink.errors[0].Exception.Message] * 2


def test_a_script_block_that_is_not_one_pipeline_meets_nolanguage(listener, rs):
    result, sink = run(rs, preamble(listener.port) + "Invoke-Command -Session $s { $x = 1; $x }")
    assert [e.FullyQualifiedErrorId for e in sink.errors] == ["ScriptsNotAllowed"]


def test_the_pep_date_hint_crosses_the_wire(listener, rs):
    result, sink = run(rs, preamble(listener.port) + "Invoke-Command -Session $s { (Get-Date).AddHours(-1) }")
    (err,) = sink.errors
    assert err.FullyQualifiedErrorId == "ScriptsNotAllowed"
    assert "$using:" in err.ErrorDetails.RecommendedAction
    assert "$using:" in format_error(err).splitlines()[-1]


def test_wrong_password_and_unknown_configuration(listener, rs):
    result, sink = run(rs, preamble(listener.port, password="wrong-password"))
    (err,) = sink.errors
    assert err.FullyQualifiedErrorId == "AccessDenied,PSSessionOpenFailed"
    assert str(err.Exception.Message).startswith("Connecting to remote server 127.0.0.1 failed with the following "
                                                 "error message : Access is denied.")
    assert err.CategoryInfo.Category.name == "OpenError"
    result, sink = run(rs, preamble(listener.port, config="NoSuchEndpoint"))
    (err,) = sink.errors
    assert err.FullyQualifiedErrorId.endswith(",PSSessionOpenFailed")
    assert "NoSuchEndpoint" in str(err.Exception.Message)
    assert rs.variables.get("s") is None


@pytest.mark.parametrize("extra, error_id", [
    ("-Authentication Kerberos", "AuthenticationMechanismNotSupported,PSSessionOpenFailed"),
    ("-Authentication Basic", "UnencryptedTrafficDisabled,PSSessionOpenFailed"),
])
def test_refused_authentication_choices(listener, rs, extra, error_id):
    result, sink = run(rs, preamble(listener.port, extra))
    assert [e.FullyQualifiedErrorId for e in sink.errors] == [error_id]


def test_basic_over_https_needs_the_ca_check_skipped(https_listener, rs):
    text = preamble(https_listener.port, "-UseSSL -Authentication Basic").replace(
        "-UICulture en-US)", "-UICulture en-US -SkipCACheck -SkipCNCheck)")
    result, sink = run(rs, text + "Invoke-Command -Session $s { Get-AzureStackStampInformation }")
    assert not sink.errors, messages(sink)
    assert sink.outputs[-1].CloudID
    result, sink = run(rs, preamble(https_listener.port, "-UseSSL -Authentication Basic"))
    assert [e.FullyQualifiedErrorId for e in sink.errors] == ["ServerCertificateValidationFailed,PSSessionOpenFailed"]


def test_stop_reaches_the_remote_pipeline_and_the_session_stays_usable(listener, rs):
    result, sink = run(rs, preamble(listener.port))
    assert not sink.errors, messages(sink)
    stop = threading.Event()
    threading.Timer(1.0, stop.set).start()
    started = time.monotonic()
    result, sink = run(rs, "Invoke-Command -Session $s { Test-ListenerSlow 60 }", stop)
    assert result.state == "Stopped" and time.monotonic() - started < 10
    assert sink.outputs == ["started"]
    result, sink = run(rs, "Invoke-Command -Session $s { Get-AzureStackStampInformation }")
    assert not sink.errors and sink.outputs[0].CloudID


def test_enter_pssession_sends_what_follows_to_the_remote_session(listener, rs):
    result, sink = run(rs, preamble(listener.port) + "Enter-PSSession -Session $s\n"
                                                     "Get-AzureStackStampInformation\n"
                                                     "Exit-PSSession\n"
                                                     "Get-AzureStackStampInformation\n")
    # the first ran remotely (the PEP has it); after Exit-PSSession it is unknown on the workstation
    assert len(sink.outputs) == 1 and sink.outputs[0].CloudID
    assert [e.FullyQualifiedErrorId for e in sink.errors] == ["CommandNotFoundException"]


def test_connect_shell_prompts_completes_and_leaves(listener, rs):
    result, sink = run(rs, preamble(listener.port) + "Enter-PSSession -Session $s")
    state = state_of(rs)
    state.entered_by_connect = True
    shell = WorkstationShell(rs)
    assert shell.prompt_name == "127.0.0.1"
    assert "Get-AzureStackLog" in shell.complete("Get-AzureStackL")
    sink = ListSink()
    shell.invoke("Get-AzureStackStampInformation", sink)
    assert sink.outputs[0].CloudID and not sink.errors
    sink = ListSink()
    shell.invoke("$x = 1", sink)
    assert [e.FullyQualifiedErrorId for e in sink.errors] == ["ScriptsNotAllowed"]
    shell.invoke("exit", ListSink())
    assert shell.exit_requested and state.entered is None


def test_pep_connect_through_a_terminal(listener, tmp_path):
    pexpect = pytest.importorskip("pexpect")
    env = dict(os.environ, PROMPT_TOOLKIT_NO_CPR="1", TERM="xterm", PEP_STATE_DIR=str(tmp_path / "state"),
               PYTHONPATH=str(ROOT))
    child = pexpect.spawn(sys.executable, ["-m", "pep", "connect", f"127.0.0.1:{listener.port}", "--user", USER,
                                           "--auth", "ntlm"], cwd=str(ROOT), env=env, encoding="utf-8",
                          dimensions=(40, 160), timeout=30)
    try:
        child.expect("Password for user")
        child.sendline(PASSWORD)
        child.expect_exact("[127.0.0.1]: PS>")
        child.sendline("Get-AzureStackStampInformation")
        child.expect("CloudID")
        child.expect_exact("[127.0.0.1]: PS>")
        child.sendline("exit")
        child.expect(pexpect.EOF)
    finally:
        if child.isalive():
            child.terminate(force=True)


def test_pep_run_prompts_for_credentials_and_sets_the_exit_code(tmp_path):
    pexpect = pytest.importorskip("pexpect")
    script = tmp_path / "cred.ps1"
    script.write_text('$c = Get-Credential\n"user=$($c.UserName) length=$($c.Password.Length)"\nexit 3\n"not reached"\n')
    env = dict(os.environ, PYTHONPATH=str(ROOT), PEP_STATE_DIR=str(tmp_path / "state"))
    child = pexpect.spawn(sys.executable, ["-m", "pep", "run", str(script)], cwd=str(ROOT), env=env,
                          encoding="utf-8", timeout=30)
    child.expect_exact("User: ")
    child.sendline("AZURESTACK\\me")
    child.expect_exact("Password for user AZURESTACK\\me: ")
    child.sendline("hidden-pw")
    child.expect(pexpect.EOF)
    child.close()
    assert "user=AZURESTACK\\me length=9" in child.before
    assert "not reached" not in child.before
    assert child.exitstatus == 3


def test_using_an_unset_variable_stops_invoke_command_before_anything_is_sent(listener, rs):
    # a typo in $using:fromDat must not silently send $null (the PEP would then use its default window)
    result, sink = run(rs, preamble(listener.port) + "$fromDate = $null\n"
                       "Invoke-Command -Session $s { Get-Command -Name $using:nosuch }\n"
                       "Invoke-Command -Session $s { Get-Command -Name $using:fromDate }\n"
                       "Invoke-Command -Session $s { Get-Command $using:nosuch; Get-Date }\n")
    assert messages(sink)[0] == (
        "UsingVariableIsUndefined,Microsoft.PowerShell.Commands.InvokeCommandCommand: The value of the using "
        "variable '$using:nosuch' cannot be retrieved because it has not been set in the local session.")
    # a variable set to $null is defined: it is sent, and the endpoint answers for it
    assert messages(sink)[1].startswith("MissingArgument,Get-Command")
    assert messages(sink)[2].startswith("UsingVariableIsUndefined,")
    assert len(sink.errors) == 3


def test_remote_write_host_lines_stay_plain_lines(listener, rs):
    result, sink = run(rs, preamble(listener.port) + "Invoke-Command -Session $s { Test-AzureStack }")
    assert sink.informations[0] == "Starting Test-AzureStack"
    assert all(isinstance(line, str) for line in sink.informations)
    assert sink.informations[-1].startswith("Test-AzureStack completed")


def test_remote_errors_show_as_windows_powershell_shows_remote_errors(listener, rs):
    result, sink = run(rs, preamble(listener.port) + """
Invoke-Command -Session $s { Test-ListenerStreams 1 }
Enter-PSSession $s
Test-ListenerStreams 1
exit
Remove-PSSession $s
Invoke-Command -Session $s { Test-ListenerStreams 1 }
""")
    remote = (
        "Host S-Cluster-03 is not reachable.\n"
        "    + CategoryInfo          : ConnectionError: (S-Cluster-03:String) [Test-ListenerStreams], Exception\n"
        "    + FullyQualifiedErrorId : NodeUnreachable,Test-ListenerStreams\n"
        "    + PSComputerName        : 127.0.0.1\n")
    first, entered, local = (format_error(e) for e in sink.errors)
    assert first == remote and entered == remote
    # an error made on this side (the session is closed) keeps the local view
    assert "PSComputerName" not in local
    assert local.endswith("    + FullyQualifiedErrorId : InvalidSessionState\n")


def test_pep_run_shows_output_in_the_order_the_script_wrote_it(tmp_path):
    script = tmp_path / "order.ps1"
    script.write_text('"first"\nWrite-Host "second"\n"third"\n', encoding="utf-8")
    proc = pep_run(script, tmp_path / "state")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["first", "second", "third"]
