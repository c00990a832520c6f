"""`pep transcript verify`: a transcript as its session wrote it is intact; every kind of change to it
or to its signed chain is caught and named (what, and the line where it first shows)."""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from powershell.pipeline import ListSink
from session.environment import Environment
from session.runspace import Runspace
from session.transcript_chain import ChainWriter, sidecar_path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = ["Get-Command Get-AzureStackLog -Syntax", "Get-AzureStackStampInformation", "Get-Command Get-Help"]


def pep(state: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pep", "--state-dir", str(state), *args],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)


@pytest.fixture
def session(tmp_path) -> tuple[Path, Path]:
    """A state directory holding one closed transcript of three commands: (state, transcript)."""
    state = tmp_path / "state"
    rs = Runspace(Environment(state_dir=state))
    for command in COMMANDS:
        rs.invoke(command, ListSink())
    rs.close()
    (path,) = (state / "transcripts").glob("*.txt")
    return state, path


def lines_of(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def verify(state: Path, *args: str) -> tuple[int, str]:
    proc = pep(state, "transcript", "verify", *args)
    assert "Traceback" not in proc.stderr
    return proc.returncode, proc.stdout


def test_an_untouched_transcript_is_intact_and_the_key_is_private(session):
    state, path = session
    code, out = verify(state)
    assert code == 0, out
    assert f"{path.name}: intact: 3 command(s), closed" in out
    key = state / "keys" / "transcript-ed25519.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert (state / "keys" / "transcript-ed25519.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    # the transcript itself stays in PowerShell's format; the chain is beside it
    text = path.read_text()
    assert text.startswith("**********************\nWindows PowerShell transcript start\n")
    assert all(f"PS>{c}\n" in text for c in COMMANDS)
    assert sidecar_path(path).exists()
    assert "BEGIN PRIVATE KEY" not in sidecar_path(path).read_text()


def test_an_edited_character_is_named_with_its_line(session):
    state, path = session
    lines = lines_of(path)
    number = next(i for i, line in enumerate(lines, 1) if line.startswith("PS>Get-AzureStackStampInformation"))
    lines[number - 1] = lines[number - 1].replace("Stamp", "Stomp")
    path.write_text("".join(lines))
    code, out = verify(state)
    assert code == 1
    assert f"NOT INTACT (edited): line {number} was changed; it now reads 'PS>Get-AzureStackStompInformation'" in out


def test_a_removed_line_is_named(session):
    state, path = session
    lines = lines_of(path)
    number = next(i for i, line in enumerate(lines, 1) if line.startswith("PS>Get-Command Get-Help"))
    del lines[number - 1]
    path.write_text("".join(lines))
    code, out = verify(state)
    assert code == 1
    assert f"NOT INTACT (removed): line {number}: a line was removed here" in out


def test_an_added_line_is_named(session):
    state, path = session
    lines = lines_of(path)
    lines.insert(12, "PS>Close-PrivilegedEndpoint\n")
    path.write_text("".join(lines))
    code, out = verify(state)
    assert code == 1
    assert "NOT INTACT (added): line 13: a line was added: 'PS>Close-PrivilegedEndpoint'" in out


def test_reordered_commands_are_named(session):
    state, path = session
    text = path.read_text()
    # each command is its PS> line and the output after it; swap the second and the third
    first, second, third = (text.index(f"PS>{c}\n") for c in COMMANDS)
    footer = text.index("**********************\nWindows PowerShell transcript end")
    swapped = text[:second] + text[third:footer] + text[second:third] + text[footer:]
    path.write_text(swapped)
    line = text[:second].count("\n") + 1
    code, out = verify(state)
    assert code == 1
    assert (f"NOT INTACT (reordered): line {line}: 'PS>Get-Command Get-Help' is command 3 of the chain, but "
            "command 2 belongs here: the commands were reordered") in out


def test_a_truncated_file_is_named(session):
    state, path = session
    data = path.read_bytes()
    cut = data.index(b"PS>Get-Command Get-Help") + 10  # in the middle of a line
    path.write_bytes(data[:cut])
    code, out = verify(state)
    assert code == 1
    line = data[:cut].count(b"\n") + 1
    assert f"NOT INTACT (truncated): line {line}: the file was cut short: it ends at line {line}" in out


def test_text_appended_after_the_last_signed_block_is_named(session):
    state, path = session
    total = len(lines_of(path))
    with open(path, "a") as f:
        f.write("PS>Remove-Evidence\n")
    code, out = verify(state)
    assert code == 1
    assert f"NOT INTACT (appended): line {total + 1}: text after the last signed block" in out


def test_a_chain_rebuilt_without_the_stamps_key_is_a_forged_signature(session):
    state, path = session
    # the attacker edits the transcript and rebuilds a consistent chain with a key of their own,
    # claiming the stamp's key id
    genuine_id = json.loads(sidecar_path(path).read_text().splitlines()[0])["key_id"]
    edited = path.read_bytes().replace(b"PS>Get-AzureStackStampInformation", b"PS>Get-AzureStackStampInformatio_")
    writer = ChainWriter(path, Ed25519PrivateKey.generate())
    writer.genesis["key_id"] = genuine_id
    chain = writer.first_line()
    for block in edited.splitlines(keepends=True):
        chain += writer.block("output", block)
    path.write_bytes(edited)
    sidecar_path(path).write_bytes(chain)
    code, out = verify(state)
    assert code == 1
    assert "NOT INTACT (forged): entry 0 of the chain file has a signature that does not verify" in out


def test_an_edited_chain_entry_is_named(session):
    state, path = session
    entries = sidecar_path(path).read_text().splitlines()
    entry = json.loads(entries[3])
    entry["lines"] += 1
    entries[3] = json.dumps(entry)
    sidecar_path(path).write_text("\n".join(entries) + "\n")
    code, out = verify(state)
    assert code == 1
    assert "NOT INTACT (chain-broken): entry 3 of the chain file was changed" in out


def test_a_missing_chain_file_is_named(session):
    state, path = session
    sidecar_path(path).unlink()
    code, out = verify(state)
    assert code == 1
    assert f"NOT INTACT (no-chain): no chain file {sidecar_path(path).name}" in out


def test_a_copy_elsewhere_verifies_with_the_stamps_public_key(session, tmp_path):
    state, path = session
    copy = tmp_path / "share"
    copy.mkdir()
    shutil.copy(path, copy)
    shutil.copy(sidecar_path(path), copy)
    elsewhere = tmp_path / "other-state"  # another machine: its own state directory, another key
    code, out = verify(elsewhere, str(copy))
    assert code == 1 and "NOT INTACT (unknown-key)" in out
    code, out = verify(elsewhere, str(copy), "--key", str(state / "keys" / "transcript-ed25519.pub"))
    assert code == 0 and "intact: 3 command(s), closed" in out
    # one bad file among good ones: every file reported, exit 1
    renamed = copy / path.name.replace(".txt", "-renamed.txt")
    shutil.copy(path, renamed)
    shutil.copy(sidecar_path(path), sidecar_path(renamed))
    code, out = verify(elsewhere, str(copy), "--key", str(state / "keys" / "transcript-ed25519.pub"))
    assert code == 1
    assert "intact: 3 command(s), closed" in out and "NOT INTACT (wrong-chain)" in out


def test_usage_errors_are_plain(tmp_path):
    proc = pep(tmp_path, "transcript", "verify", "--key", str(tmp_path / "nope.pub"))
    assert proc.returncode == 2 and "cannot use the key file" in proc.stderr and "Traceback" not in proc.stderr
    code, out = verify(tmp_path)
    assert code == 0 and "No transcripts in" in out
    code, out = verify(tmp_path, str(tmp_path / "missing.txt"))
    assert code == 1 and "NOT INTACT (unreadable)" in out


def test_per_command_cost_stays_small(tmp_path):
    """Chaining and signing a command's two blocks costs well under a remoting round trip (~6 ms)."""
    import time

    from session.transcript import Transcript

    (tmp_path / "transcripts").mkdir()
    t = Transcript(tmp_path / "transcripts", "AZURESTACK\\CloudAdmin", "AZS-ERCS01")
    os.sync()
    started = time.perf_counter()
    for i in range(200):
        t.command(f"Get-AzureStackStampInformation # {i}", "Name  Value\n----  -----\nx     y\n")
    per_command = (time.perf_counter() - started) / 200
    t.close()
    print(f"per command: {per_command * 1e6:.0f} us")
    assert per_command < 0.002
