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
