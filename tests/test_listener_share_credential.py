"""Issue 4: a PSCredential sent by the real pypsrp client to `pep serve` (NTLM with encryption over
HTTP) reaches -OutputShareCredential decrypted, and Get-AzureStackLog collects to a real Samba share.
The session key exchange encrypts the credential's SecureString on the wire."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from enginehelp import small_stamp
from pypsrp.complex_objects import PSCredential, PSInvocationState
from pypsrp.powershell import PowerShell, RunspacePool
from test_listener_support import PASSWORD, wsman

from session.environment import Environment
from session.listener.server import ListenerThread


@pytest.fixture(scope="module")
def listener(tmp_path_factory):
    root = tmp_path_factory.mktemp("share-cred")
    stamp = small_stamp(root / "stamp", days=0.5, mb_per_hour=0.3, end=datetime.now(timezone.utc))
    env = Environment(stamp_dir=stamp, state_dir=root / "state")
    pw = root / "admin-password"
    pw.write_text(PASSWORD + "\n")
    lt = ListenerThread(env, admin_password_file=str(pw)).start()
    yield lt, env
    lt.stop()


def collect(pool, unc: str, user: str, password: str):
    ps = PowerShell(pool)
    ps.add_cmdlet("Get-AzureStackLog")
    ps.add_parameter("OutputSharePath", unc)
    ps.add_parameter("OutputShareCredential", PSCredential(username=user, password=password))
    ps.add_parameter("FilterByRole", ["CA", "ECE"])
    ps.invoke()
    return ps


def test_pscredential_over_psrp_collects_to_the_share(listener, samba):
    lt, env = listener
    with RunspacePool(wsman(lt.port, "ntlm", False), configuration_name="PrivilegedEndpoint") as pool:
        pool.exchange_keys()
        ps = collect(pool, samba.unc("psrp"), samba.user, samba.password)
        assert ps.state == PSInvocationState.COMPLETED and not ps.had_errors, [str(e) for e in ps.streams.error]
        (bundle,) = (samba.path / "psrp").iterdir()
        assert bundle.name.startswith("AzureStackLogs-") and bundle.name.endswith("-AZS-ERCS01")
        names = sorted(p.name for p in bundle.iterdir())
        assert names == ["CA_1.zip", "CollectionReport.html", "ECE_1.zip", "Get-AzureStackLog_Output.log", "manifest.json"]
        m = json.loads((bundle / "manifest.json").read_text())
        assert m["status"] == "complete" and m["request"]["destination"] == samba.unc("psrp")

        # A wrong password is refused before collecting, with the share's error id, and never echoed.
        wrong = "Wr0ng-over-the-wire"
        ps = collect(pool, samba.unc("psrp-wrong"), samba.user, wrong)
        assert ps.state == PSInvocationState.FAILED and ps.had_errors
        assert [e.fq_error for e in ps.streams.error] == ["ShareLogonFailure,Get-AzureStackLog"]
        assert wrong not in str(ps.streams.error[0]) and samba.user in str(ps.streams.error[0])
        assert not (samba.path / "psrp-wrong").exists()
    transcripts = "\n".join(p.read_text() for p in env.state.transcripts.glob("*.txt"))
    assert "Get-AzureStackLog" in transcripts
    assert samba.password not in transcripts and wrong not in transcripts
