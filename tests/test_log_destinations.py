"""Get-AzureStackLog end to end through the runspace to a real Samba share and a real Azurite
container: delivery, pre-flight refusals, resume after kill -9, -InputSasUri, partial failure,
Send-AzureStackDiagnosticLog. What is asserted is what an operator sees: the bundle at the
destination, the error records, the console text, the transcript."""
from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from psrpcore.types import PSCredential, PSSecureString

from enginehelp import small_stamp
from pep.formatting.sinks import ConsoleSink
from pep.invocation import CommandArgument, CommandCall
from pep.pipeline import ListSink
from session.environment import Environment
from session.runspace import Runspace

ROOT = Path(__file__).resolve().parent.parent
ROLES = "CA,ECE,URP"  # a few role instances on a generated stamp: small and quick, several zips
BUNDLE_PREFIX = "AzureStackLogs-"


@pytest.fixture(scope="module")
def stamp(tmp_path_factory):
    # Ends now, so the default window (the last 4 hours) holds logs.
    return small_stamp(tmp_path_factory.mktemp("stamp") / "s", days=0.5, mb_per_hour=0.3,
                       end=datetime.now(timezone.utc))


class Tee:
    """Every record to a ListSink (to assert on) and to the real console renderer (to read its text)."""

    def __init__(self):
        self.records = ListSink()
        self.buf = io.StringIO()
        self.console = ConsoleSink(self.buf, self.buf, width=200, is_tty=False)

    def __getattr__(self, name):
        def both(*a, **kw):
            getattr(self.records, name)(*a, **kw)
            getattr(self.console, name)(*a, **kw)
        return both

    @property
    def text(self) -> str:
        self.console.flush()
        return self.buf.getvalue()


def env_for(stamp, tmp_path, config=None) -> Environment:
    return Environment(stamp_dir=stamp, state_dir=tmp_path / "st", config=config or {})


def invoke(env, text_or_calls):
    tee = Tee()
    rs = Runspace(env)
    try:
        if isinstance(text_or_calls, str):
            result = rs.invoke(text_or_calls, tee)
        else:
            result = rs.invoke_calls(text_or_calls, tee)
    finally:
        rs.close()
    return result, tee


def call(name: str, **params) -> list[CommandCall]:
    """A command-form pipeline with typed values (what remoting sends); True is a switch."""
    args = []
    for k, v in params.items():
        args.append(CommandArgument(parameter=k))
        if v is not True:
            args.append(CommandArgument(value=v))
    return [CommandCall(name, args)]


def share_cred(samba, password=None):
    return PSCredential(samba.user, PSSecureString(password or samba.password))


def transcripts(env) -> str:
    return "\n".join(p.read_text() for p in env.state.transcripts.glob("*.txt"))


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def only_bundle(folder: Path) -> Path:
    (b,) = [p for p in folder.iterdir() if p.name.startswith(BUNDLE_PREFIX)]
    return b


def staging_files(env) -> list[Path]:
    d = env.state.path / "collector" / "staging"
    return [p for p in d.rglob("*") if p.is_file()] if d.exists() else []


def lock_files(env) -> list[Path]:
    d = env.state.path / "collector" / "locks"
    return list(d.iterdir()) if d.exists() else []


def units(env, roles=ROLES) -> int:
    return sum(len(env.stamp.roles[r]) for r in roles.split(","))


def check_bundle(files: dict[str, bytes], manifest_roles: set[str]) -> dict:
    """files: name -> bytes of everything in one bundle. Checks the package and returns the manifest."""
    assert "Get-AzureStackLog_Output.log" in files and "manifest.json" in files
    assert not [n for n in files if n.endswith(".partial")]
    m = json.loads(files["manifest.json"])
    assert m["status"] == "complete"
    assert set(m["roles"]) == manifest_roles
    zips = {z["name"]: z for r in m["roles"].values() for z in r["zips"]}
    assert zips and set(zips) == {n for n in files if n.endswith(".zip")}
    for name, z in zips.items():
        assert hashlib.sha256(files[name]).hexdigest() == z["sha256"] and len(files[name]) == z["bytes"]
        assert zipfile.ZipFile(io.BytesIO(files[name])).testzip() is None
    assert m["summary"]["files"] > 0
    return m


# -- 1. the share ---------------------------------------------------------------------------

def test_collect_to_the_share_with_a_pscredential(stamp, tmp_path, samba):
    env = env_for(stamp, tmp_path)
    unc = samba.unc("e2e", "one")
    r, t = invoke(env, call("Get-AzureStackLog", OutputSharePath=unc, OutputShareCredential=share_cred(samba),
                            FilterByRole=ROLES.split(",")))
    assert r.state == "Completed" and not t.records.errors, t.text
    bundle = only_bundle(samba.path / "e2e" / "one")
    ercs = env.stamp.ercs_name.upper()
    assert bundle.name.startswith(BUNDLE_PREFIX) and bundle.name.endswith(f"-{ercs}")
    datetime.strptime(bundle.name[len(BUNDLE_PREFIX):-len(ercs) - 1], "%Y%m%d%H%M%S")
    files = {p.name: p.read_bytes() for p in bundle.iterdir()}
    m = check_bundle(files, {"CA", "ECE", "URP"})
    assert sorted(n for n in files if n.endswith(".zip")) == ["CA_1.zip", "ECE_1.zip", "URP_1.zip"]
    assert m["request"]["destination"] == unc
    n = units(env)
    assert f"collected {n} of {n} role instances" in t.text and f"{unc}\\{bundle.name}" in t.text
    log = files["Get-AzureStackLog_Output.log"].decode()
    assert "Converting FromDate and ToDate to UTC" in log and f"collected {n} of {n}" in log
    for text in (t.text, log, files["manifest.json"].decode(), transcripts(env)):
        assert samba.password not in text
    assert not staging_files(env) and not lock_files(env)


# -- 2. the blob container --------------------------------------------------------------------

def blob_files(azurite, container: str) -> dict[str, dict[str, bytes]]:
    """bundle prefix -> {name: bytes} of the committed blobs of a container."""
    cc = azurite.container(container)
    out: dict[str, dict[str, bytes]] = {}
    for b in cc.list_blobs():
        prefix, _, name = b.name.partition("/")
        out.setdefault(prefix, {})[name] = cc.download_blob(b.name).readall()
    return out


def test_collect_to_a_container_sas(stamp, tmp_path, azurite):
    env = env_for(stamp, tmp_path, {"upload": {"block_size_mb": 0.0625}})
    sas = azurite.make_container_sas("e2eblob", permissions="rwl")
    sig = sas.split("sig=")[1].split("&")[0]
    r, t = invoke(env, f"Get-AzureStackLog -OutputSasUri '{sas}' -FilterByRole {ROLES}")
    assert r.state == "Completed" and not t.records.errors, t.text
    bundles = blob_files(azurite, "e2eblob")
    assert len(bundles) == 1
    (prefix, files), = bundles.items()
    assert prefix.startswith(BUNDLE_PREFIX) and prefix.endswith("-" + env.stamp.ercs_name.upper())
    m = check_bundle(files, {"CA", "ECE", "URP"})
    assert m["bundle"] == prefix
    # all committed: no blob of the container has uncommitted blocks left
    cc = azurite.container("e2eblob")
    for b in cc.list_blobs():
        assert cc.get_blob_client(b.name).get_block_list("uncommitted")[1] == []
    n = units(env)
    assert f"collected {n} of {n} role instances" in t.text
    for text in (t.text, files["Get-AzureStackLog_Output.log"].decode(), files["manifest.json"].decode(),
                 transcripts(env)):
        assert sig not in text
    assert not staging_files(env) and not lock_files(env)
