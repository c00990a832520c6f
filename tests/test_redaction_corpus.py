"""The one redactor (common/redact.py): a corpus of tricky secrets, and end to end through what a
user types (`pep -c`, a pypsrp client against `pep serve`) into every place that lasts: the
transcript, Get-AzureStackLog_Output.log, manifest.json, the history row, pep-serve.log, and the
error records shown to the user."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import unquote

import pytest
from enginehelp import small_stamp
from hypothesis import assume, given
from hypothesis import strategies as st

from common.redact import REDACTED, redact, redact_value

ROOT = Path(__file__).resolve().parent.parent

# (typed or logged text, what must not survive, what must survive)
CORPUS: list[tuple[str, list[str], list[str]]] = [
    # SAS signatures
    ("https://a.blob.core.windows.net/c?sv=2020-08-04&sp=rwl&sig=AbC%2Bd%2F9%3D",
     ["AbC%2Bd%2F9%3D", "AbC"], ["https://a.blob.core.windows.net/c?sv=2020-08-04&sp=rwl&sig="]),
    ("https://a/c?sv=1&SIG=UpperCaseSig&sp=r", ["UpperCaseSig"], ["SIG=", "&sp=r"]),
    ("https://a/c?Sig=MixedSig", ["MixedSig"], ["Sig="]),
    ("https://a/c?signature=LongName", ["LongName"], ["signature="]),
    ("https://p/?t=https%3A%2F%2Fa%2Fc%3Fsv%3D1%26sig%3DEncodedSig%26sp%3Drwl",
     ["EncodedSig"], ["%26sp%3Drwl", "sig%3D"]),
    ("https://p/?t=https%253A%252F%252Fa%253Fsig%253DTwiceEncoded", ["TwiceEncoded"], []),
    ("'https://a/c?sv=1&sig=Split'+'Quoted&sp=r'", ["Split", "Quoted"], ["&sp=r'"]),
    ('"https://a/c?sv=1&sig=Split" + "DoubleQ&sp=r"', ["Split", "DoubleQ"], ['&sp=r"']),
    ("'https://a/c?sv=1&si'+'g=SplitName1&sp=r'", ["SplitName1"], ["&sp=r'", "&si'+'g="]),
    ("\u2018https://a/c?s\u2019 + \u2018ig=SplitName2\u2019", ["SplitName2"], []),
    ('"https://a/c?sv=1&sig=Back`tick`$Escaped&sp=r"', ["Back", "tick", "Escaped"], ["&sp=r"]),
    ("BlobEndpoint=https://a.blob/;SharedAccessSignature=sv=2020&sig=ConnSig;Other=1",
     ["ConnSig"], ["BlobEndpoint=https://a.blob/;", ";Other=1"]),
    ("DefaultEndpointsProtocol=https;AccountName=a;AccountKey=Key+Base64/==;EndpointSuffix=x",
     ["Key+Base64"], ["AccountName=a;", ";EndpointSuffix=x"]),
    ("https://a/c?code=QueryCode&key=QueryKey&x=1", ["QueryCode", "QueryKey"], ["&x=1"]),
    ('{"OutputSasUri": "https://a/c?sv=1&sig=InJson&sp=w"}', ["InJson"], ['&sp=w"}']),
    # passwords typed as arguments
    ("New-CloudAdminUser -UserName bob -Password 'Plain1!'", ["Plain1!"], ["-UserName bob -Password '"]),
    ("New-CloudAdminUser -UserName bob -Password 'it''s Quoted'", ["it''s", "Quoted"], ["-UserName bob"]),
    ('New-CloudAdminUser -UserName bob -Password "dq""Embedded"', ["dq", "Embedded"], []),
    ('New-CloudAdminUser -UserName bob -Password "Back`"tick`$pw"', ["Back", "tick"], []),
    ("New-CloudAdminUser -UserName bob -Password \u2018Smart\u2019", ["Smart"], []),
    ("New-CloudAdminUser -UserName bob -Password Bare@Word1 -AsJob", ["Bare@Word1"], ["-AsJob"]),
    # a value shown unquoted with a stray quote: redacted to the end of its line, not beyond
    ("PS>New-CloudAdminUser -Password:It'sMine1\nNew-CloudAdminUser : refused 'x'", ["It", "sMine1"],
     ["\nNew-CloudAdminUser : refused 'x'"]),
    ("New-CloudAdminUser -UserName bob -Password:Colon1", ["Colon1"], ["-Password:"]),
    ("New-CloudAdminUser -Pass Abbrev1 -UserName bob", ["Abbrev1"], ["-UserName bob"]),
    ("New-CloudAdminUser -pa Shortest1 -UserName bob", ["Shortest1"], []),
    ("New-CloudAdminUser Positional1 bob", ["Positional1"], [" bob"]),
    ("PS>New-CloudAdminUser PromptPos1 bob", ["PromptPos1"], ["PS>New-CloudAdminUser "]),
    ("x\n>> New-CloudAdminUser ContinuedPos1 bob", ["ContinuedPos1"], []),
    ("$s = ConvertTo-SecureString AssignedPos1 -AsPlainText -Force", ["AssignedPos1"], ["$s = ConvertTo-SecureString "]),
    ("& New-CloudAdminUser CalledPos1 bob", ["CalledPos1"], []),
    ("Set-CloudAdminUserPassword bob OldPos1 NewPos1", ["OldPos1", "NewPos1"], ["Set-CloudAdminUserPassword bob "]),
    ("Set-CloudAdminUserPassword -UserName bob -C OldNamed1 -N NewNamed1", ["OldNamed1", "NewNamed1"], []),
    ("Set-CloudAdminUserPassword -UserName bob -NewPass:NewColon1 -CurrentPassword 'Cur 1'",
     ["NewColon1", "Cur 1"], []),
    ("Set-CloudAdminUserPassword bob -NewPassword NewMixed1 OldMixed1", ["NewMixed1", "OldMixed1"], []),
    ("New-CloudAdminUser -EA Stop -VB AfterAliases1 bob", ["AfterAliases1"], ["-EA Stop -VB ", " bob"]),
    ("New-CloudAdminUser -ErrorAction:Stop -Verbose AfterCommon1 bob", ["AfterCommon1"], ["-ErrorAction:Stop"]),
    ("Get-AzureStackLog -FilterByRole CA -Password WrongCmdlet1", ["WrongCmdlet1"], ["-FilterByRole CA"]),
    # misspelt or invented password parameters: refused, but transcribed and quoted by the error view
    ("Set-CloudAdminUserPassword -UserName bob -NewPasword Typo1 -CurrentPassword Cur2", ["Typo1", "Cur2"], ["-UserName bob"]),
    ("New-CloudAdminUser -UserName bob -Pasword Typo3", ["Typo3"], ["-Pasword "]),
    ("Get-AzureStackLog -AdminPwd Typo4 -FilterByRole CA", ["Typo4"], ["-FilterByRole CA"]),
    ("Start-SecretRotation -CertificatePassword CertPw1", ["CertPw1"], []),
    ("New-CloudAdminUser -Password (ConvertTo-SecureString 'InParens1' -AsPlainText -Force) -UserName bob",
     ["InParens1"], ["-AsPlainText -Force) -UserName bob"]),
    ("ConvertTo-SecureString -AsPlainText -Force -String \"Named1\"", ["Named1"], []),
    ("$cred = @{UserName='bob'; Password = 'Hashtable1'}", ["Hashtable1"], ["UserName='bob'"]),
    ("Server=db;User Id=sa;Password=ConnPw1;Pwd=ConnPw2;", ["ConnPw1", "ConnPw2"], ["Server=db;User Id=sa;"]),
    ('{"user": "bob", "password": "Json1", "newPassword": "Json2"}', ["Json1", "Json2"], ['"user": "bob"']),
    ('<Obj><SS N="Password">76492d1116743f0423413b16050a5345</SS></Obj>', ["76492d"], ['<SS N="Password">']),
    # support tokens (the whole token)
    ("Unlock-SupportSession -ResponseToken AZSRSP1eyJ2IjoxLCJz_-Ab09", ["eyJ2", "AZSRSP1eyJ"],
     ["Unlock-SupportSession -ResponseToken "]),
    ("request: AZSREQ1abcDEF_-123== (give it to support)", ["abcDEF", "AZSREQ1a"], ["(give it to support)"]),
    ("Authorization: Basic QWRtaW46U2VjcmV0UGFzcw== from 10.0.0.1", ["QWRtaW46U2VjcmV0UGFzcw"],
     ["Authorization: Basic ", " from 10.0.0.1"]),
    ("{'Authorization': 'Negotiate TlRMTVNTUAADAAAAGAAYAH'}", ["TlRMTVNTUAADAAAAGAAYAH"], ["'Authorization': 'Negotiate "]),
    # user-info
    ("https://bob:UrlPw1@host.example/path?x=1", ["UrlPw1"], ["https://bob:", "@host.example/path?x=1"]),
    ("smb://DOMAIN;bob:SmbPw1@fs/share", ["SmbPw1"], ["@fs/share"]),
    ("\\\\bob:UncPw1@fileserver\\share\\logs", ["UncPw1"], ["@fileserver\\share\\logs"]),
]

# Text a redactor must leave byte for byte.
ORDINARY = [
    "Collected 12 of 14 roles; exit code=1; partition key=ECE; design=ok",
    "pep -c 'Get-Command' ; head -n 5 -Name foo -Path x -PassThru -C 3",
    "Start-Process -PassThru notepad; Get-Item -Path C:\\x -Name y",
    "Password      : System.Security.SecureString",
    # Output that names the password cmdlets: Get-Help, Get-Command, the error view.
    '    To see the examples, type: "get-help New-CloudAdminUser -examples".\n'
    '    For more information, type: "get-help New-CloudAdminUser -detailed".',
    "Function        New-CloudAdminUser\nFunction        Set-CloudAdminUserPassword",
    "New-CloudAdminUser : The password does not meet the password policy requirements.",
    "    + CategoryInfo          : InvalidArgument: (bob:String) [New-CloudAdminUser], Exception",
    "Get-Help 'New-CloudAdminUser' -Full",
    "    New-CloudAdminUser [[-Password] <Object>] [[-UserName] <Object>] [-AsJob]",
    "    -Password <Object>\n        The password of the new user.",
    "UserName Password\n-------- --------\nbob      System.Security.SecureString",
    "New-CloudAdminUser -Password $pw -UserName bob",
    "Get-AzureStackLog -OutputSharePath \\\\fs\\share -OutputShareCredential $cred -FilterByRole CA,ECE",
    "https://host.example:8443/path?sv=2020&sp=rwl&se=2026-01-01T00:00:00Z",
    "AZSREQUEST1 is not a token, nor is XAZSRSP1abc",
    "e-mail bob@contoso.com, \\\\fs\\share, C:\\Users\\bob",
    "design=ok; insignia=1; consigned=yes; Assignature=x",
    "Authentication: basic, ntlm, negotiate (listener.auth); Authorization failed: Basic authentication is off",
]


@pytest.mark.parametrize("text,gone,kept", CORPUS, ids=[c[0][:40] for c in CORPUS])
def test_corpus(text, gone, kept):
    out = redact(text)
    for secret in gone:
        assert secret not in out, out
    for part in kept:
        assert part in out, out
    assert REDACTED in out
    assert redact(out) == out  # idempotent: logs written twice through it stay the same


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_text_is_kept_byte_for_byte(text):
    assert redact(text) == text


@given(st.text())
def test_never_fails_and_is_idempotent(text):
    once = redact(text)
    assert redact(once) == once


@given(st.text(alphabet=st.characters(blacklist_characters="=-@:<%'\"`\u2018\u2019\u201a\u201b\u201c\u201d\u201e",
                                      blacklist_categories=("Cs",))))
def test_text_without_any_secret_marker_is_unchanged(text):
    # No `=`, `-`, `@`, `:`, `<` or quote: nothing the redactor looks for, except a support token.
    if "AZSREQ1" not in text and "AZSRSP1" not in text:
        assert redact(text) == text


def test_structures_are_redacted_value_by_value():
    # Redacting JSON text could cut a closing quote (an escaped \" in a typed command); a structure
    # is redacted string by string and stays valid.
    value = {"command": 'New-CloudAdminUser -Password "Str1" -UserName bob', "n": 3,
             "list": ["https://a/c?sig=Str2", None, True]}
    out = redact_value(value)
    assert "Str1" not in str(out) and "Str2" not in str(out)
    assert out["n"] == 3 and out["list"][1:] == [None, True]


def test_the_error_view_quotes_the_typed_line_redacted(tmp_path):
    from powershell.formatting.errors import position_message
    from powershell.objects import SourcePosition

    line = "New-CloudAdminUser -Password 'Pw1' -UserName bad"
    start = line.index("bad")
    text = position_message(SourcePosition(line, start, start + 3))
    assert "Pw1" not in text
    marked = text.splitlines()
    # The ~~~ marker still sits under `bad` in the redacted line.
    src, marker = marked[1], marked[2]
    assert src[marker.index("~"):marker.rindex("~") + 1] == "bad"


# -- end to end ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def stamp(tmp_path_factory):
    return small_stamp(tmp_path_factory.mktemp("stamp") / "s", days=0.5, mb_per_hour=0.3, end=datetime.now(timezone.utc))


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PEP_ADMIN_PASSWORD": "Redact-Admin-P@ss1"}
    env.pop("PEP_STATE_DIR", None)
    return env


def _pep_c(stamp: Path, state: Path, command: str) -> str:
    done = subprocess.run([sys.executable, "-m", "pep", "--stamp", str(stamp), "--state-dir", str(state), "-c", command],
                          capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=240)
    assert "Traceback" not in done.stderr, done.stderr
    return done.stdout + done.stderr


def _spellings(secret: str) -> set[str]:
    """A secret as it may appear: as typed, percent-decoded, and each long enough half of it."""
    forms = {secret, unquote(secret)}
    if len(secret) >= 16:
        forms |= {secret[: len(secret) // 2], secret[len(secret) // 2:]}
    return {f for f in forms if len(f) >= 6}


def _leaks(texts: dict[str, str], secrets: list[str]) -> list[str]:
    return [f"{secret!r} in {where}" for where, text in texts.items() for secret in secrets
            for form in _spellings(secret) if form in text]


def _files(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_bytes().decode("utf-8", "replace") for p in root.rglob("*") if p.is_file()}


def _blobs(azurite, container: str) -> dict[str, str]:
    cc = azurite.container(container)
    return {b.name: cc.download_blob(b.name).readall().decode("utf-8", "replace") for b in cc.list_blobs()
            if not b.name.endswith(".zip")}


def _sig(sas: str) -> str:
    return re.search(r"[?&]sig=([^&]+)", sas).group(1)


TOKEN = "AZSRSP1eyJ2IjoxLCJzaWQiOiJhYmMifQ_RedactMe-9"
PASSWORD = "Typed-Pw'd`1!"
OTHER_PASSWORD = "Other-Pw-2X"
WEAK_PASSWORD = "onlylowercaseletters"
SPACED_PASSWORD = "it's Spaced-Pw 9 Spaced-Tail"


def test_secrets_typed_into_pep_c_reach_no_file_and_no_error_text(stamp, tmp_path, azurite):
    state = tmp_path / "state"
    sas = azurite.make_container_sas("redact-e2e", permissions="rwl")
    readonly = azurite.make_container_sas("redact-ro", permissions="rl")
    secrets = [_sig(sas), _sig(readonly), TOKEN, PASSWORD, OTHER_PASSWORD]
    shown: dict[str, str] = {}
    # A real collection to the container: the SAS is in the request, the output log, the manifest.
    shown["collect"] = _pep_c(stamp, state, f"Get-AzureStackLog -OutputSasUri '{sas}' -FilterByRole CA -Verbose")
    # Refused before collecting: the error record quotes the SAS.
    shown["refused"] = _pep_c(stamp, state, f"Get-AzureStackLog -OutputSasUri \"{readonly}\" -FilterByRole CA")
    # A password typed to a cmdlet that has no such parameter, to ones that refuse the user, positionally.
    pw = PASSWORD.replace("'", "''")
    shown["wrong parameter"] = _pep_c(stamp, state, f"Get-AzureStackLog -FilterByRole CA -Password '{pw}'")
    shown["bad user"] = _pep_c(stamp, state, f"New-CloudAdminUser -UserName '{OTHER_PASSWORD[:3]}\\x' -Password 'x{pw}'")
    shown["positional"] = _pep_c(stamp, state, f"Set-CloudAdminUserPassword CloudAdmin '{pw}' {OTHER_PASSWORD}")
    # A token where a URL is expected: the error message quotes it.
    shown["token"] = _pep_c(stamp, state, f"Get-AzureStackLog -OutputSasUri {TOKEN}")
    # A signature split by quoting (refused by NoLanguage, but transcribed).
    half = len(_sig(sas)) // 2
    split = sas.replace(_sig(sas), _sig(sas)[:half] + "'+'" + _sig(sas)[half:])
    shown["split"] = _pep_c(stamp, state, f"Get-AzureStackLog -OutputSasUri ('{split}')")

    assert "collected 1 of 1 role instances" in shown["collect"], shown["collect"]
    assert "SasUriPermissionDenied" in shown["refused"]
    assert "NamedParameterNotFound" in shown["wrong parameter"]
    blobs = _blobs(azurite, "redact-e2e")
    assert any(n.endswith("Get-AzureStackLog_Output.log") for n in blobs) and any(n.endswith("manifest.json") for n in blobs)
    files = _files(state)
    transcripts = [t for n, t in files.items() if n.startswith("transcripts/") and n.endswith(".txt")]
    assert transcripts and all("PS>" in t for t in transcripts)
    assert "PS>Get-AzureStackLog -FilterByRole CA -Password 'REDACTED'" in "".join(transcripts)
    assert any(n.startswith("history/rows/") for n in files)
    assert not _leaks({**shown, **files, **{f"blob {n}": t for n, t in blobs.items()}}, secrets)


def _serve(stamp: Path, state: Path) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen([sys.executable, "-m", "pep", "--stamp", str(stamp), "--state-dir", str(state), "serve",
                             "--listen", "127.0.0.1:0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(), cwd=ROOT)
    line = proc.stdout.readline()
    m = re.search(r"http://127\.0\.0\.1:(\d+)/wsman", line)
    assert m, line + proc.stderr.read() if proc.poll() is not None else line
    return proc, int(m.group(1))


def test_secrets_sent_by_a_pypsrp_client_reach_no_file_and_no_error_text(stamp, tmp_path, azurite):
    from pypsrp.complex_objects import PSInvocationState
    from pypsrp.exceptions import AuthenticationError
    from pypsrp.powershell import PowerShell, RunspacePool
    from test_listener_support import wsman

    state = tmp_path / "state"
    sas = azurite.make_container_sas("redact-psrp", permissions="rwl")
    readonly = azurite.make_container_sas("redact-psrp-ro", permissions="rl")
    url_password = "UrlInfo-Pw-3Z"
    secrets = [_sig(sas), _sig(readonly), TOKEN, PASSWORD, url_password, WEAK_PASSWORD, SPACED_PASSWORD, "Spaced-Tail"]
    proc, port = _serve(stamp, state)
    errors: list[str] = []
    try:
        with RunspacePool(wsman(port, "ntlm", False, password="Redact-Admin-P@ss1"),
                          configuration_name="PrivilegedEndpoint") as pool:
            def run(name: str, **params: object) -> PowerShell:
                ps = PowerShell(pool)
                ps.add_cmdlet(name)
                for k, v in params.items():
                    ps.add_parameter(k, v)
                ps.invoke()
                errors.extend(str(e) for e in ps.streams.error)
                return ps

            ok = run("Get-AzureStackLog", OutputSasUri=sas, FilterByRole="CA")
            assert ok.state == PSInvocationState.COMPLETED, errors
            run("Get-AzureStackLog", OutputSasUri=readonly, FilterByRole="CA")
            run("Get-AzureStackLog", FilterByRole="CA", Password=PASSWORD)
            # A quote and blanks: the transcript quotes it as PowerShell would ('it''s ...), so it is one value.
            run("Get-AzureStackLog", FilterByRole="CA", Password=SPACED_PASSWORD)
            run("Get-AzureStackLog", OutputSasUri=TOKEN)
            # A password sent as a plain string (refused by the policy: no digit, no capital).
            weak = run("New-CloudAdminUser", UserName="AZURESTACK\\redactbob", Password=WEAK_PASSWORD)
            assert weak.had_errors
        # A user name holding a URL with a password: the sign-in refusal is logged, redacted.
        with pytest.raises(AuthenticationError):
            with RunspacePool(wsman(port, "ntlm", False, user=f"https://bob:{url_password}@host"),
                              configuration_name="PrivilegedEndpoint"):
                pass
    except Exception:
        proc.kill()
        raise
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert any("SasUriPermissionDenied" in e or "does not grant" in e for e in errors), errors
    files = _files(state)
    log = files.get("logs/pep-serve.log", "")
    assert "sign-in refused" in log and "https://bob:REDACTED@host" in log, log
    transcripts = "".join(t for n, t in files.items() if n.startswith("transcripts/") and n.endswith(".txt"))
    assert "Get-AzureStackLog" in transcripts
    # pypsrp's parameters are transcribed as -Name:value
    assert re.search(r"PS>New-CloudAdminUser .*-Password:'?REDACTED'?\n", transcripts), transcripts
    assert re.search(r"PS>Get-AzureStackLog -FilterByRole:CA -Password:'?REDACTED'?\n", transcripts), transcripts
    blobs = _blobs(azurite, "redact-psrp")
    assert any(n.endswith("manifest.json") for n in blobs)
    assert not _leaks({"errors": "\n".join(errors), "stdout": out, "stderr": err, **files,
                       **{f"blob {n}": t for n, t in blobs.items()}}, secrets)


def test_a_password_typed_to_a_securestring_parameter_is_not_quoted_back():
    # PowerShell's own message quotes the value it could not convert; ours does not for a password.
    from powershell.binding.conversion import convert_value
    from powershell.binding.errors import ParameterBindingError
    from powershell.commands import Parameter

    with pytest.raises(ParameterBindingError) as e:
        convert_value("S3cret-Typed", Parameter("Password", "securestring"))
    assert "S3cret-Typed" not in e.value.message and '"REDACTED" value of type "System.String"' in e.value.message
    with pytest.raises(ParameterBindingError) as e:
        convert_value("not-a-number", Parameter("Count", "int"))
    assert "not-a-number" in e.value.message  # other parameters keep PowerShell's wording


@pytest.mark.parametrize("text", [
    "x -Password 'a " * 3000,                # unclosed quotes, each would run to the end
    "New-CloudAdminUser 'a " * 3000,         # commands inside a previous command's arguments
    "New-CloudAdminUser " + "(" * 100000,    # unclosed groups
    "New-CloudAdminUser -Password '" + "a" * 1_000_000 + "'",
    "sig=" * 100000,
    "-Password " + "`" * 200000,
    "<SS N='a'>x<" * 20000,                  # unclosed SecureStrings (11 s in a first version)
    "://a:" + "x:" * 50000,                  # user-info never closed by an @
], ids=["unclosed-quotes", "nested-commands", "unclosed-groups", "1MB-string", "sig-run", "backticks",
        "unclosed-securestrings", "userinfo-without-at"])
def test_hostile_text_is_redacted_in_linear_time(text):
    # Each was quadratic or worse in a first version (50 s for the second); all now take well under
    # a second. No timing assertion (the machine is shared): the suite's timeout catches a regression.
    out = redact(text)
    assert redact(out) == out


# -- generated: a password in every quoting PowerShell reads, under every accepted parameter name --

def _single_quoted(pw: str) -> str:
    return "'" + pw.replace("'", "''") + "'"


def _double_quoted(pw: str) -> str:
    escaped = "".join("`" + c if c in '"`$' else c for c in pw)
    return '"' + escaped + '"'


_PASSWORDS = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=8, max_size=24)
_NAMES = st.sampled_from(["-Password", "-password", "-PASS", "-Pa", "-NewPassword", "-NewPass", "-Ne",
                          "-CurrentPassword", "-Cu", "-CertificatePassword"])


@given(pw=_PASSWORDS, name=_NAMES, quoting=st.sampled_from([_single_quoted, _double_quoted]),
       colon=st.booleans(), command=st.sampled_from(["New-CloudAdminUser", "Set-CloudAdminUserPassword",
                                                      "Get-AzureStackLog"]))
def test_generated_password_arguments_never_survive(pw, name, quoting, colon, command):
    assume(REDACTED not in pw and pw not in f"{command} -UserName bob {name} -Verbose")
    typed = f"{command} -UserName bob {name}{':' if colon else ' '}{quoting(pw)} -Verbose"
    out = redact(typed)
    assert pw not in out, out
    assert quoting(pw) not in out
    assert out.startswith(f"{command} -UserName bob {name}") and out.endswith(" -Verbose"), out


@given(pw=_PASSWORDS.filter(lambda p: p[0] not in "$(@-[{" and not any(c in p for c in "'\"`,;|(){}[]&@$"
                                                                               "\u2018\u2019\u201c\u201d")),
       old=st.booleans())
def test_generated_positional_passwords_never_survive(pw, old):
    typed = f"Set-CloudAdminUserPassword bob {pw} Other-Pw-1" if old else f"New-CloudAdminUser {pw} bob"
    assume(pw not in "Set-CloudAdminUserPassword bob Other-Pw-1 New-CloudAdminUser" and REDACTED not in pw)
    out = redact(typed)
    assert pw not in out and (not old or "Other-Pw-1" not in out), out


def test_help_and_command_tables_of_every_pep_command_pass_unchanged(tmp_path):
    # Help text names the password cmdlets and shows -Password <Object>, examples and syntax: a
    # transcript of Get-Help must read as shown, not with REDACTED sprinkled over the placeholders.
    import io

    from powershell.formatting.sinks import ConsoleSink
    from session.environment import Environment
    from session.runspace import Runspace

    rs = Runspace(Environment(state_dir=tmp_path))
    try:
        texts = []
        for command in ["Get-Command", *(f"Get-Help {c.name} {v}" for c in rs.visible_commands()
                                          for v in ("-Full", "-Examples"))]:
            buf = io.StringIO()
            sink = ConsoleSink(buf, buf, width=120)
            rs.invoke(command, sink)
            sink.flush()
            texts.append(buf.getvalue())
    finally:
        rs.close()
    assert any("New-CloudAdminUser" in t and "-Password" in t for t in texts)
    for text in texts:
        assert redact(text) == text


def test_log_records_are_redacted_with_their_arguments_and_tracebacks():
    import io
    import logging

    from common.redact import RedactingFormatter

    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.setFormatter(RedactingFormatter("%(levelname)s %(message)s"))
    log = logging.getLogger("test.redaction.formatter")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("sign-in refused: user %r", "https://bob:LogPw1@host")
        try:
            raise ValueError("cannot open https://a/c?sv=1&sig=TraceSig1&sp=r")
        except ValueError:
            log.exception("upload failed for %s", "AZSRSP1LogToken_1")
    finally:
        log.removeHandler(handler)
    text = buf.getvalue()
    assert "Traceback" in text and "ValueError" in text and "sign-in refused" in text
    for secret in ("LogPw1", "TraceSig1", "AZSRSP1LogToken_1"):
        assert secret not in text
