"""`pep serve` against the real pypsrp client over real HTTP(S) on loopback."""
from __future__ import annotations

import time
import xml.etree.ElementTree as ET

import pytest
import requests
from pypsrp.complex_objects import PSCredential, PSInvocationState
from pypsrp.exceptions import AuthenticationError, WSManFaultError
from pypsrp.powershell import PowerShell, RunspacePool
from test_listener_support import PASSWORD, USER, start_listener, visible, wsman

CONFIG = "PrivilegedEndpoint"


@pytest.fixture(scope="module")
def http_listener(tmp_path_factory):
    lt = start_listener(tmp_path_factory.mktemp("http"))
    yield lt
    lt.stop()


@pytest.fixture(scope="module")
def https_listener(tmp_path_factory):
    lt = start_listener(tmp_path_factory.mktemp("https"), https=True)
    yield lt
    lt.stop()


def run(pool, name, **params):
    ps = PowerShell(pool)
    ps.add_cmdlet(name)
    for k, v in params.items():
        if v is None:
            ps.add_parameter(k)
        else:
            ps.add_parameter(k, v)
    out = ps.invoke()
    return ps, out


def check_session(pool):
    """What every transport must deliver: objects with properties, booleans, errors with their
    category/target/id, warnings, verbose and progress records, terminating errors as Failed."""
    ps, out = run(pool, "Test-ListenerStreams", Count=3, Verbose=None)
    assert ps.state == PSInvocationState.COMPLETED and not ps.had_errors
    assert [o.adapted_properties.get("Name") or o.extended_properties.get("Name") for o in out] == ["item0", "item1", "item2"]
    assert out[0].extended_properties["Ok"] is True
    assert "AzureStack.Test" in out[0].types
    err = ps.streams.error[0]
    assert err.fq_error == "NodeUnreachable,Test-ListenerStreams"
    assert err.category == 27  # ConnectionError
    assert err.target_name == "S-Cluster-03"
    assert str(err) == "Host S-Cluster-03 is not reachable."
    assert [w.message for w in ps.streams.warning] == ["something to look at"]
    assert [v.message for v in ps.streams.verbose] == ["details"]
    assert [p.percent_complete for p in ps.streams.progress] == [0, 33, 66, 100]

    # A binding error is terminating: Failed, had_errors, and the record exactly once.
    ps, out = run(pool, "Test-ListenerStreams", Bogus="x")
    assert ps.state == PSInvocationState.FAILED and ps.had_errors
    assert [e.fq_error for e in ps.streams.error] == ["NamedParameterNotFound,Test-ListenerStreams"]

    ps, out = run(pool, "Test-AzureStack")
    assert out in ([True], [False])


def test_ntlm_with_encryption_over_http(http_listener):
    with RunspacePool(wsman(http_listener.port, "ntlm", False), configuration_name=CONFIG) as pool:
        check_session(pool)
        assert pool.is_alive()


def test_negotiate_with_encryption_over_http(http_listener):
    with RunspacePool(wsman(http_listener.port, "negotiate", False), configuration_name=CONFIG) as pool:
        check_session(pool)


def test_user_name_forms(http_listener):
    for user in ("CloudAdmin@azurestack.local", "CloudAdmin"):
        with RunspacePool(wsman(http_listener.port, "ntlm", False, user=user), configuration_name=CONFIG) as pool:
            _, out = run(pool, "Test-AzureStack")
            assert out in ([True], [False])


def test_basic_over_https(https_listener):
    with RunspacePool(wsman(https_listener.port, "basic", True), configuration_name=CONFIG) as pool:
        check_session(pool)


def test_ntlm_over_https_with_channel_binding(https_listener):
    with RunspacePool(wsman(https_listener.port, "ntlm", True), configuration_name=CONFIG) as pool:
        _, out = run(pool, "Test-AzureStack")
        assert out in ([True], [False])


def test_pep_cmdlets_when_present(http_listener):
    with RunspacePool(wsman(http_listener.port, "ntlm", False), configuration_name=CONFIG) as pool:
        if visible("Get-AzureStackStampInformation"):
            ps, out = run(pool, "Get-AzureStackStampInformation")
            assert not ps.had_errors and len(out) == 1
            props = out[0].extended_properties
            assert props["CloudID"] and props["DomainFQDN"] == "azurestack.local"
        if visible("Get-Command"):
            ps, out = run(pool, "Get-Command")
            names = [o.extended_properties["Name"] for o in out]
            assert "Test-AzureStack" in names and "Test-ListenerSlow" in names
            ps, _ = run(pool, "Get-Command", Bogus="x")
            assert ps.had_errors
            assert ps.streams.error[0].fq_error == "NamedParameterNotFound,Get-Command"


def test_typed_arguments_and_secure_strings(http_listener):
    with RunspacePool(wsman(http_listener.port, "ntlm", False), configuration_name=CONFIG) as pool:
        pool.exchange_keys()
        # pypsrp cannot serialise a datetime itself; send the <DT> element PowerShell sends for $using:fromDate.
        when = ET.Element("DT")
        when.text = "2026-11-25T08:00:00Z"
        ps = PowerShell(pool)
        ps.add_cmdlet("Test-ListenerTyped")
        ps.add_parameter("Credential", PSCredential(username="AZURESTACK\\Share", password="s3cret!"))
        ps.add_parameter("FromDate", when)
        ps.add_parameter("Roles", ["Storage", "SQL"])
        out = ps.invoke()
        assert not ps.had_errors, [str(e) for e in ps.streams.error]
        props = out[0].extended_properties
        assert props["UserName"] == "AZURESTACK\\Share"
        assert props["Password"] == "s3cret!"
        assert props["FromDate"].startswith("2026-11-25T08:00")
        assert props["Roles"] == "Storage,SQL"


def test_missing_mandatory_without_a_client_host(http_listener):
    with RunspacePool(wsman(http_listener.port, "ntlm", False), configuration_name=CONFIG) as pool:
        ps, _ = run(pool, "Test-ListenerTyped")
        assert ps.had_errors
        assert ps.streams.error[0].fq_error.startswith("MissingMandatoryParameter")


def test_mandatory_parameter_prompted_through_the_client_host(http_listener):
    from pypsrp.host import PSHost, PSHostUserInterface

    asked = []

    class UI(PSHostUserInterface):
        def Prompt(self, runspace, pipeline, caption, message, descriptions):
            asked.append((caption, message, [d.extended_properties["name"] for d in descriptions]))
            return {"Name": "operator"}

    host = PSHost(None, None, False, "test", None, UI(), "1.0")
    with RunspacePool(wsman(http_listener.port, "ntlm", False), configuration_name=CONFIG, host=host) as pool:
        ps, out = run(pool, "Test-ListenerAsk")
        assert out == ["Hello operator"], [str(e) for e in ps.streams.error]
        assert asked == [("cmdlet Test-ListenerAsk at command pipeline position 1",
                          "Supply values for the following parameters:", ["Name"])]


def test_stop_a_running_command_then_pool_still_works(http_listener):
    with RunspacePool(wsman(http_listener.port, "ntlm", False), configuration_name=CONFIG) as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Test-ListenerSlow").add_parameter("Seconds", 60)
        t0 = time.monotonic()
        ps.begin_invoke()
        ps.poll_invoke(timeout=1)
        ps.stop()
        assert ps.state == PSInvocationState.STOPPED
        ps2, out = run(pool, "Test-AzureStack")
        assert out in ([True], [False])
        assert time.monotonic() - t0 < 10


def test_long_poll_times_out_and_client_retries(http_listener):
    w = wsman(http_listener.port, "ntlm", False, operation_timeout=2)
    with RunspacePool(w, configuration_name=CONFIG) as pool:
        t0 = time.monotonic()
        ps, out = run(pool, "Test-ListenerSlow", Seconds=3)
        assert out == ["started", "finished"]
        assert time.monotonic() - t0 >= 3


def test_large_output_split_over_envelopes(http_listener):
    with RunspacePool(wsman(http_listener.port, "ntlm", False), configuration_name=CONFIG) as pool:
        ps, out = run(pool, "Test-ListenerStreams", Count=3000)
        assert len(out) == 3000 and out[-1].extended_properties["Index"] == 2999


def test_runspace_availability_and_enumerate(http_listener):
    w = wsman(http_listener.port, "ntlm", False)
    with RunspacePool(w, configuration_name=CONFIG) as pool:
        pool.max_runspaces = 4
        assert pool.max_runspaces == 4
        assert pool.get_available_runspaces() == 4
        pools = RunspacePool.get_runspace_pools(w)
        assert pool.id.upper() in [p.id.upper() for p in pools]


def test_wrong_password_refused(http_listener, https_listener):
    with pytest.raises(AuthenticationError):
        RunspacePool(wsman(http_listener.port, "ntlm", False, password="wrong"), configuration_name=CONFIG).open()
    with pytest.raises(AuthenticationError):
        RunspacePool(wsman(https_listener.port, "basic", True, password="wrong"), configuration_name=CONFIG).open()
    with pytest.raises(AuthenticationError):
        RunspacePool(wsman(http_listener.port, "ntlm", False, user="AZURESTACK\\Nobody"), configuration_name=CONFIG).open()


def test_unknown_configuration_refused(http_listener):
    with pytest.raises(WSManFaultError) as e:
        RunspacePool(wsman(http_listener.port, "ntlm", False), configuration_name="Microsoft.PowerShell").open()
    assert e.value.code == 2150858752
    assert "Cannot find the Microsoft.PowerShell session configuration" in e.value.reason


def test_unencrypted_http_refused(http_listener):
    # NTLM with encryption='never' and Basic over plain HTTP: AllowUnencrypted=false refuses both.
    with pytest.raises(AuthenticationError):
        RunspacePool(wsman(http_listener.port, "ntlm", False, encryption="never"), configuration_name=CONFIG).open()
    with pytest.raises(AuthenticationError):
        RunspacePool(wsman(http_listener.port, "basic", False, encryption="never"), configuration_name=CONFIG).open()
    r = requests.post(f"http://127.0.0.1:{http_listener.port}/wsman", data=b"<x/>", auth=(USER, PASSWORD))
    assert r.status_code == 401 and "Basic" not in r.headers.get("WWW-Authenticate", "")


def test_execute_ps_is_refused_faithfully(http_listener):
    from pypsrp.client import Client

    client = Client("127.0.0.1", port=http_listener.port, ssl=False, auth="ntlm", username=USER, password=PASSWORD)
    out, streams, had_errors = client.execute_ps("Get-AzureStackStampInformation", configuration_name=CONFIG)
    assert had_errors
    assert "'Invoke-Expression' is not recognized" in str(streams.error[0])


def test_unknown_shell_is_not_alive_and_idle_shells_are_reaped(tmp_path):
    lt = start_listener(tmp_path, idle_timeout=1.0)
    try:
        pool = RunspacePool(wsman(lt.port, "ntlm", False), configuration_name=CONFIG)
        pool.open()
        assert pool.is_alive()
        deadline = time.monotonic() + 10
        while lt.call(lambda: len(lt.listener.table.shells)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert lt.call(lambda: len(lt.listener.table.shells)) == 0
        assert not pool.is_alive()
    finally:
        lt.stop()


def test_pep_serve_subprocess_until_sigterm(tmp_path):
    import os
    import re
    import signal
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root), "PEP_ADMIN_PASSWORD": PASSWORD}
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from pep.cli import main; sys.exit(main())", "serve",
         "--state-dir", str(tmp_path), "--listen", "127.0.0.1:0", "--https"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=root)
    try:
        line = proc.stdout.readline()
        port = int(re.search(r"https://127\.0\.0\.1:(\d+)/wsman", line).group(1))
        with RunspacePool(wsman(port, "basic", True), configuration_name=CONFIG) as pool:
            _, out = run(pool, "Test-AzureStack")
            assert out in ([True], [False])
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        assert "Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_write_host_lines_read_as_text_from_pypsrp(http_listener):
    # Windows PowerShell 5.1 sends Write-Host as an InformationRecord (PSHOST, Write-Host) whose
    # ToString is the line: pypsrp users print str(record).
    with RunspacePool(wsman(http_listener.port, "ntlm", False), configuration_name=CONFIG) as pool:
        ps, out = run(pool, "Test-AzureStack")
        lines = [str(r) for r in ps.streams.information]
        assert lines[0] == "Starting Test-AzureStack"
        assert lines[-1].startswith("Test-AzureStack completed")
        first = ps.streams.information[0]
        assert first.source == "Write-Host" and first.tags == ["PSHOST"]
        assert str(first.message_data) == "Starting Test-AzureStack"
        assert first.message_data.extended_properties["Message"] == "Starting Test-AzureStack"


def _host_with(**methods):
    from pypsrp.host import PSHost, PSHostUserInterface

    ui = type("UI", (PSHostUserInterface,), methods)()
    return PSHost(None, None, False, "test", None, ui, "1.0")


@pytest.mark.parametrize("answer, runs", [(0, True), (2, False)])
def test_confirm_asks_the_client_host_and_honours_the_answer(http_listener, answer, runs):
    asked = []

    def PromptForChoice(self, runspace, pipeline, caption, message, choices, default_choice):
        asked.append((caption, message, [c.extended_properties["label"] for c in choices], default_choice))
        return answer

    host = _host_with(PromptForChoice=PromptForChoice)
    with RunspacePool(wsman(http_listener.port, "ntlm", False), configuration_name=CONFIG, host=host) as pool:
        ps, out = run(pool, "Test-AzureStack", Confirm=True)
        assert not ps.had_errors, [str(e) for e in ps.streams.error]
        assert (out in ([True], [False])) if runs else out == []
    (caption, message, labels, default), = asked
    assert caption == "Confirm" and default == 0
    assert message.startswith("Are you sure you want to perform this action?\nPerforming the operation "
                              '"Test-AzureStack" on target')
    assert labels == ["&Yes", "Yes to &All", "&No", "No to A&ll"]


def test_confirm_without_a_client_host_is_a_host_exception(http_listener):
    with RunspacePool(wsman(http_listener.port, "ntlm", False), configuration_name=CONFIG) as pool:
        ps, out = run(pool, "Test-AzureStack", Confirm=True)
        assert ps.state == PSInvocationState.FAILED and out == []
        assert [e.fq_error for e in ps.streams.error] == ["HostException,Test-AzureStack"]


def test_a_user_name_for_a_credential_asks_the_client_host_for_the_password(http_listener):
    from pypsrp.serializer import TaggedValue

    written = []

    def Write1(self, runspace, pipeline, value):
        written.append(value)

    def ReadLineAsSecureString(self, runspace, pipeline):
        return TaggedValue("SS", "s3cret!")

    host = _host_with(Write1=Write1, ReadLineAsSecureString=ReadLineAsSecureString)
    with RunspacePool(wsman(http_listener.port, "ntlm", False), configuration_name=CONFIG, host=host) as pool:
        pool.exchange_keys()  # the answer is a SecureString: it needs the session key
        ps, out = run(pool, "Test-ListenerTyped", Credential="AZURESTACK\\Share")
        assert not ps.had_errors, [str(e) for e in ps.streams.error]
        props = out[0].extended_properties
        assert (props["UserName"], props["Password"]) == ("AZURESTACK\\Share", "s3cret!")
    assert written == ["Password for user AZURESTACK\\Share: "]


def _server_command_states(lt):
    """The server-side state of every command of every shell (read on the listener's loop)."""
    def read():
        return [str(c.pipe.state) for s in lt.listener.table.shells.values() for c in s.commands.values()]
    return lt.call(read)


@pytest.mark.parametrize("what", ["confirm", "mandatory", "password"])
def test_a_stop_ends_a_pending_host_call_at_once(http_listener, what):
    # The client's host is still showing the prompt (its UI method blocks) when the user presses
    # Ctrl+C: ps.stop() must end the remote pipeline as Stopped now, not when the host call
    # times out, and the runspace must be free for the next command.
    import threading

    from pypsrp.serializer import TaggedValue

    asked, release = threading.Event(), threading.Event()

    def blocking(answer):
        def method(self, *args):
            asked.set()
            release.wait(30)
            return answer
        return method

    host = _host_with(PromptForChoice=blocking(0), Prompt=blocking({"Name": "late"}),
                      ReadLineAsSecureString=blocking(TaggedValue("SS", "late")), Write1=lambda *a: None)
    command = {"confirm": ("Test-AzureStack", {"Confirm": True}),
               "mandatory": ("Test-ListenerAsk", {}),
               "password": ("Test-ListenerTyped", {"Credential": "AZURESTACK\\Share"})}[what]
    with RunspacePool(wsman(http_listener.port, "ntlm", False), configuration_name=CONFIG, host=host) as pool:
        pool.exchange_keys()
        ps = PowerShell(pool)
        ps.add_cmdlet(command[0])
        for k, v in command[1].items():
            ps.add_parameter(k, v)
        ps.begin_invoke()
        failures = []

        def receive():  # the client's receive loop, which runs the host's UI method
            try:
                ps.end_invoke()
            except Exception as e:  # the late answer may meet a pipeline the server has dropped
                failures.append(e)

        t = threading.Thread(target=receive, daemon=True)
        t.start()
        assert asked.wait(10), "the host call never reached the client"
        t0 = time.monotonic()
        ps.stop()
        assert ps.state == PSInvocationState.STOPPED
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and "Running" in " ".join(_server_command_states(http_listener)):
            time.sleep(0.05)
        states = _server_command_states(http_listener)
        assert not any("Running" in s for s in states), states
        assert all("Stopped" in s for s in states), states
        assert time.monotonic() - t0 < 5
        release.set()  # the prompt goes away; its answer is too late to matter
        t.join(30)
        assert not t.is_alive()
        # The session is still usable.
        ps2, out = run(pool, "Test-ListenerAsk", Name="next")
        assert out == ["Hello next"] and ps2.state == PSInvocationState.COMPLETED
