"""Close-PrivilegedEndpoint against a real Samba share: every transcript kept on the PEP is shipped,
then deleted; a failed copy deletes nothing and keeps the session open."""
from __future__ import annotations

from pathlib import Path

from powershell.invocation import CommandArgument, CommandCall
from powershell.objects import PSCredential, PSSecureString
from powershell.pipeline import ListSink
from session.environment import Environment
from session.runspace import Runspace


def _close(rs: Runspace, unc: str, user: str, password: str):
    sink = ListSink()
    call = CommandCall("Close-PrivilegedEndpoint", [
        CommandArgument(parameter="TranscriptsPathDestination"), CommandArgument(value=unc),
        CommandArgument(parameter="Credential"),
        CommandArgument(value=PSCredential(UserName=user, Password=PSSecureString(password))),
    ])
    return rs.invoke_calls([call], sink), sink


def test_transcripts_of_this_and_earlier_sessions_are_shipped_then_deleted(tmp_path, samba):
    env = Environment(state_dir=tmp_path)
    earlier = Runspace(env)
    earlier.invoke("Get-Command Get-AzureStackLog -Syntax", ListSink())
    earlier.close()  # left with Exit-PSSession: its transcript stays on the PEP
    rs = Runspace(env)
    rs.invoke("Get-AzureStackStampInformation", ListSink())
    local = sorted(p.name for p in env.state.transcripts.glob("*.txt"))
    assert len(local) == 2

    result, sink = _close(rs, samba.unc("transcripts"), samba.user, samba.password)

    assert result.state == "Completed", [str(e) for e in sink.errors]
    assert rs.exit_requested
    shipped = Path(samba.path) / "transcripts"
    assert sorted(p.name for p in shipped.glob("*.txt")) == local
    assert not list(env.state.transcripts.glob("*.txt"))
    texts = {p.name: p.read_text() for p in shipped.glob("*.txt")}
    assert any("PS>Get-AzureStackStampInformation" in t and "Windows PowerShell transcript end" in t
               for t in texts.values())
    assert any("PS>Get-Command Get-AzureStackLog -Syntax" in t for t in texts.values())


def test_wrong_password_keeps_transcripts_and_session(tmp_path, samba):
    env = Environment(state_dir=tmp_path)
    rs = Runspace(env)
    rs.invoke("Get-Command", ListSink())

    result, sink = _close(rs, samba.unc("transcripts-bad"), samba.user, "not-the-password")

    assert result.state == "Failed"
    assert sink.errors[0].FullyQualifiedErrorId == "ShareLogonFailure,Close-PrivilegedEndpoint"
    assert "not-the-password" not in str(sink.errors[0])
    assert not rs.exit_requested
    assert len(list(env.state.transcripts.glob("*.txt"))) == 1
    # The session goes on recording.
    rs.invoke("Get-Command", ListSink())
    assert "PS>Get-Command" in next(env.state.transcripts.glob("*.txt")).read_text()
    rs.close()


def test_another_open_sessions_transcript_stays_until_that_session_ends(tmp_path, samba):
    # pep serve runs many sessions on one state directory: closing one must not ship half of
    # another's transcript and delete it under its feet (its next command would start a headless file)
    env = Environment(state_dir=tmp_path)
    other = Runspace(env)
    other.invoke("Get-Command Get-AzureStackLog -Syntax", ListSink())
    rs = Runspace(env)
    rs.invoke("Get-AzureStackStampInformation", ListSink())

    result, sink = _close(rs, samba.unc("transcripts-live"), samba.user, samba.password)

    assert result.state == "Completed", [str(e) for e in sink.errors]
    shipped = Path(samba.path) / "transcripts-live"
    (sent,) = shipped.glob("*.txt")
    assert "PS>Get-AzureStackStampInformation" in sent.read_text()
    (kept,) = env.state.transcripts.glob("*.txt")
    assert kept.name != sent.name and kept.read_text().startswith("**********************\nWindows PowerShell")
    other.invoke("Get-AzureStackStampInformation", ListSink())
    other.close()
    text = kept.read_text()
    assert "PS>Get-Command Get-AzureStackLog -Syntax" in text and "PS>Get-AzureStackStampInformation" in text
    assert text.rstrip().endswith("**********************")


def test_a_live_transcript_of_another_process_stays_and_a_dead_ones_is_shipped(tmp_path, samba):
    # Two `pep` processes on one state directory (a console beside `pep serve`): Close-PrivilegedEndpoint
    # in one leaves the other's live transcript alone; once that process is gone (even by kill -9),
    # its transcript is pending like any other and ships.
    import signal
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    code = ("import sys, time; from session.environment import Environment; from session.runspace import Runspace; "
            "from powershell.pipeline import ListSink; rs = Runspace(Environment(state_dir=sys.argv[1])); "
            "rs.invoke('Get-Command', ListSink()); print('ready', flush=True); time.sleep(60)")
    other = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                             cwd=root, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})
    try:
        assert other.stdout.readline().strip() == "ready"
        env = Environment(state_dir=tmp_path)
        rs = Runspace(env)
        result, sink = _close(rs, samba.unc("transcripts-other-process"), samba.user, samba.password)
        assert result.state == "Completed", [str(e) for e in sink.errors]
        (kept,) = env.state.transcripts.glob("*.txt")
        assert "PS>Get-Command" in kept.read_text()
        other.send_signal(signal.SIGKILL)
        other.wait(10)
        rs = Runspace(env)
        result, sink = _close(rs, samba.unc("transcripts-other-process"), samba.user, samba.password)
        assert result.state == "Completed", [str(e) for e in sink.errors]
        assert not list(env.state.transcripts.glob("*.txt"))
        shipped = [p.read_text() for p in (Path(samba.path) / "transcripts-other-process").glob("*.txt")]
        assert any("PS>Get-Command" in t for t in shipped)
    finally:
        if other.poll() is None:
            other.kill()


# -- the copies are verified; sessions left without closing stay pending ---------------------------

def _pep(state: Path, *args: str, input: str | None = None):
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    return subprocess.run([sys.executable, "-m", "pep", "--state-dir", str(state), *args], input=input,
                          capture_output=True, text=True, timeout=120, cwd=root)


def test_sessions_left_without_closing_are_shipped_over_psrp_verified_and_deleted(tmp_path, samba):
    from pypsrp.complex_objects import PSCredential
    from pypsrp.powershell import PowerShell, RunspacePool
    from test_listener_support import start_listener, wsman

    state = tmp_path / "state"
    # exit, Exit-PSSession and a console closed by the end of its input all leave their transcripts pending
    assert _pep(state, "-c", "exit").returncode == 0
    assert _pep(state, "-c", "Exit-PSSession").returncode == 0
    _pep(state, input="Get-AzureStackStampInformation\n")
    local = sorted(p.name for p in (state / "transcripts").glob("*.txt"))
    assert len(local) == 3
    lt = start_listener(tmp_path)
    try:
        with RunspacePool(wsman(lt.port, "ntlm", False), configuration_name="PrivilegedEndpoint") as pool:
            pool.exchange_keys()
            ps = PowerShell(pool)
            ps.add_cmdlet("Close-PrivilegedEndpoint").add_parameter("TranscriptsPathDestination", samba.unc("ship"))
            ps.add_parameter("Credential", PSCredential(username=samba.user, password=samba.password))
            ps.add_parameter("Verbose", True)
            ps.invoke()
            assert not ps.had_errors, [str(e) for e in ps.streams.error]
            verbose = [str(v.message) for v in ps.streams.verbose]
    finally:
        lt.stop()
    assert any("every SHA-256 matches" in v for v in verbose), verbose
    shipped = Path(samba.path) / "ship"
    names = sorted(p.name for p in shipped.iterdir())
    assert not list((state / "transcripts").iterdir())  # transcripts and chains deleted from the PEP
    assert set(local) < set(names) and len([n for n in names if n.endswith(".txt")]) == 4
    assert len([n for n in names if n.endswith(".chain")]) == 4
    (pub,) = [n for n in names if n.endswith(".pub")]
    assert pub.startswith("transcript-signing-")
    texts = [p.read_text() for p in shipped.glob("*.txt")]
    (closing,) = [t for t in texts if "PS>Close-PrivilegedEndpoint" in t]
    assert samba.password not in closing and closing.rstrip().endswith("**********************")
    # the copies verify anywhere with the key shipped beside them
    result = _pep(tmp_path / "elsewhere", "transcript", "verify", str(shipped), "--key", str(shipped / pub))
    assert result.returncode == 0, result.stdout
    assert result.stdout.count(": intact: ") == 4 and result.stdout.count("closed") == 4


def test_a_copy_that_reads_back_different_deletes_nothing(tmp_path, samba, monkeypatch):
    from collector.sinks.smb import SmbSink

    env = Environment(state_dir=tmp_path)
    rs = Runspace(env)
    rs.invoke("Get-AzureStackStampInformation", ListSink())
    shipped = Path(samba.path) / "transcripts-mismatch"
    deliver = SmbSink.deliver

    def deliver_then_damage(self, local_path, relpath, *args, **kwargs):
        deliver(self, local_path, relpath, *args, **kwargs)
        if relpath.endswith(".txt"):  # the share's copy changes after the write (a faulty server)
            with open(shipped / relpath, "ab") as f:
                f.write(b"x")

    monkeypatch.setattr(SmbSink, "deliver", deliver_then_damage)
    result, sink = _close(rs, samba.unc("transcripts-mismatch"), samba.user, samba.password)

    assert result.state == "Failed"
    (error,) = sink.errors
    assert error.FullyQualifiedErrorId == "TranscriptCopyMismatch,Close-PrivilegedEndpoint"
    assert "does not match the file on the PEP" in str(error) and "Nothing was deleted" in str(error)
    assert not rs.exit_requested
    kept = sorted(env.state.transcripts.glob("*.txt"))
    assert len(kept) == 2  # the closed one, and the new one the session records into
    assert len(list(env.state.transcripts.glob("*.chain"))) == 2
    newest = max(kept, key=lambda p: p.stat().st_mtime_ns)
    assert "PS>Close-PrivilegedEndpoint" in newest.read_text()  # the new transcript starts with the command
    rs.close()


def test_a_dropped_connection_leaves_its_transcript_pending(tmp_path, samba):
    # a pypsrp client killed with its pool open: its session's transcript stays on the PEP, untouched
    # by another session's Close-PrivilegedEndpoint while the shell lives, and ships once it ended
    import signal
    import subprocess
    import sys

    from pypsrp.complex_objects import PSCredential
    from pypsrp.powershell import PowerShell, RunspacePool
    from test_listener_support import PASSWORD, USER, start_listener, wsman

    root = Path(__file__).resolve().parent.parent
    lt = start_listener(tmp_path)
    client = ("import sys, time; from pypsrp.powershell import PowerShell, RunspacePool; from pypsrp.wsman import WSMan; "
              "pool = RunspacePool(WSMan('127.0.0.1', port=int(sys.argv[1]), ssl=False, auth='ntlm', "
              "username=sys.argv[2], password=sys.argv[3], cert_validation=False), "
              "configuration_name='PrivilegedEndpoint'); pool.open(); ps = PowerShell(pool); "
              "ps.add_cmdlet('Get-AzureStackStampInformation'); ps.invoke(); print('ready', flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", client, str(lt.port), USER, PASSWORD], stdout=subprocess.PIPE,
                            text=True, cwd=root)
    try:
        assert proc.stdout.readline().strip() == "ready"
        proc.send_signal(signal.SIGKILL)  # the connection drops; the pool is never closed
        proc.wait(10)
        transcripts = tmp_path / "state" / "transcripts"
        (dropped,) = transcripts.glob("*.txt")
        with RunspacePool(wsman(lt.port, "ntlm", False), configuration_name="PrivilegedEndpoint") as pool:
            pool.exchange_keys()
            ps = PowerShell(pool)
            ps.add_cmdlet("Close-PrivilegedEndpoint").add_parameter("TranscriptsPathDestination", samba.unc("dropped"))
            ps.add_parameter("Credential", PSCredential(username=samba.user, password=samba.password))
            ps.invoke()
            assert not ps.had_errors, [str(e) for e in ps.streams.error]
        assert [p.name for p in transcripts.glob("*.txt")] == [dropped.name]
        assert "PS>Get-AzureStackStampInformation" in dropped.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
        lt.stop()  # the listener ends the dropped shell: its transcript is closed, still pending
    rs = Runspace(Environment(state_dir=tmp_path / "state"))
    result, sink = _close(rs, samba.unc("dropped"), samba.user, samba.password)
    assert result.state == "Completed", [str(e) for e in sink.errors]
    assert not list(transcripts.glob("*.txt"))
    assert "PS>Get-AzureStackStampInformation" in (Path(samba.path) / "dropped" / dropped.name).read_text()
