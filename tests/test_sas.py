"""SAS URL parsing, offline checks and redaction (no server needed)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from collector.sas import SasUriError, parse_sas_url, redact
from common.redact import redact as redact_text

SIG = "k3Jx%2FQ9v8Lw0aBcDeFgHiJkLmNoPqRsTuVwXyZ12345%3D"
AZURE = ("https://contosologs.blob.core.windows.net/azslogs?sv=2020-08-04&ss=b&srt=co&sp=rwl"
         f"&se=2030-01-01T00:00:00Z&st=2020-01-01T00:00:00Z&spr=https&sig={SIG}")
AZURITE = ("http://127.0.0.1:10123/devstoreaccount1/ce78ea9a4b963?st=2026-11-25T07%3A22%3A40Z"
           f"&se=2036-11-25T08%3A27%3A40Z&sp=rcwl&sv=2026-10-06&sr=c&sig={SIG}")
HUB = f"https://logacct.blob.redmond.azurestack.corp.microsoft.com/pep-logs?sv=2019-02-02&sr=c&sp=rwl&sig={SIG}"

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("url, account, container, endpoint", [
    (AZURE, "contosologs", "azslogs", "https://contosologs.blob.core.windows.net"),
    (AZURITE, "devstoreaccount1", "ce78ea9a4b963", "http://127.0.0.1:10123/devstoreaccount1"),
    (HUB, "logacct", "pep-logs", "https://logacct.blob.redmond.azurestack.corp.microsoft.com"),
    (f"http://localhost:10000/devstoreaccount1/logs?sr=c&sig={SIG}", "devstoreaccount1", "logs",
     "http://localhost:10000/devstoreaccount1"),
])
def test_parse_shapes(url, account, container, endpoint):
    s = parse_sas_url(url)
    assert (s.account, s.container, s.endpoint) == (account, container, endpoint)
    assert s.container_url == f"{endpoint}/{container}"
    assert s.has_signature


def test_parsed_fields():
    s = parse_sas_url(AZURITE)
    assert s.permissions == "rcwl" and s.resource == "c" and s.version == "2026-10-06"
    assert s.start == datetime(2026, 11, 25, 7, 22, 40, tzinfo=timezone.utc)
    assert s.expiry == datetime(2036, 11, 25, 8, 27, 40, tzinfo=timezone.utc)
    assert parse_sas_url(AZURE.replace("2030-01-01T00:00:00Z", "2030-01-01")).expiry == \
        datetime(2030, 1, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize("url", [
    "", "   ", "ftp://acct.blob.core.windows.net/c?sig=x", "not a url",
    "https://acct.blob.core.windows.net/?sig=x",                 # no container
    "https://acct.blob.core.windows.net/c/blob.txt?sig=x",        # a blob, not a container
    "http://127.0.0.1:10000/devstoreaccount1?sig=x",             # path style without container
    "https://acct.blob.core.windows.net/UPPER?sig=x",            # invalid container name
    "https://acct.blob.core.windows.net/c1x?se=tomorrow&sig=x",   # bad time
    "https://acct.blob.core.windows.net:99999/c1x?sig=x",         # bad port
])
def test_invalid_urls(url):
    with pytest.raises(SasUriError) as ei:
        parse_sas_url(url)
    assert ei.value.error_id == "InvalidSasUri"
    assert "sig=x" not in ei.value.message


@pytest.mark.parametrize("url, error_id", [
    (AZURE, None),
    (AZURITE, None),
    (AZURE.replace(f"&sig={SIG}", ""), "InvalidSasUri"),
    (AZURE.replace("se=2030", "se=2020"), "SasUriExpired"),
    (AZURE.replace("st=2020", "st=2029"), "SasUriNotYetValid"),
    (AZURE.replace("sp=rwl", "sp=rl"), "SasUriPermissionDenied"),
    (AZURE.replace("sp=rwl", "sp=wl"), "SasUriPermissionDenied"),
    (AZURE.replace("sp=rwl", "sp=rw"), "SasUriPermissionDenied"),
    (AZURE.replace("sp=rwl&", ""), None),          # no sp: a stored access policy decides
    (AZURE.replace("ss=b", "ss=q"), "InvalidSasUri"),
    (AZURE.replace("srt=co", "srt=s"), "InvalidSasUri"),
    (AZURITE.replace("sr=c", "sr=b"), "InvalidSasUri"),
])
def test_offline_checks(url, error_id):
    s = parse_sas_url(url)
    if error_id is None:
        s.check("rwl", now=NOW)
        return
    with pytest.raises(SasUriError) as ei:
        s.check("rwl", now=NOW)
    assert ei.value.error_id == error_id
    assert SIG not in ei.value.message


def test_permission_message_names_what_is_missing():
    with pytest.raises(SasUriError) as ei:
        parse_sas_url(AZURE.replace("sp=rwl", "sp=r")).check("rwl", now=NOW)
    assert "Write, List" in ei.value.message and ei.value.category == "PermissionDenied"


def test_redact_url():
    for url in (AZURE, AZURITE, HUB):
        r = redact(url)
        assert SIG not in r and "sig=REDACTED" in r
        assert r.split("?")[0] == url.split("?")[0]
        assert "sp=" in r  # the non-secret parts stay readable
    assert redact("https://x/c?a=1&token=abc&code=42") == "https://x/c?a=1&token=REDACTED&code=REDACTED"


@pytest.mark.parametrize("text", [
    f"Get-AzureStackLog -OutputSasUri '{AZURE}' -FromDate x",
    f'"OutputSasUri": "{AZURITE}"',
    f"uploading to {HUB}, attempt 2",
    f"nested: https://proxy/?target={AZURE.replace('&', '%26').replace('=', '%3D')}",
    f"BlobEndpoint=https://a.blob.core.windows.net/;SharedAccessSignature=sv=2020&sig={SIG}",
    f"signature={SIG}",
    f"SIG={SIG} twice sig={SIG}",
])
def test_redact_text_scrubs_signatures_anywhere(text):
    out = redact_text(text)
    assert SIG not in out
    assert SIG.replace("%2F", "/").replace("%3D", "=") not in out
    assert "REDACTED" in out


def test_redact_text_keeps_ordinary_text():
    text = "Collected 12 of 14 roles; exit code=1; partition key=ECE; design=ok"
    assert redact_text(text) == text
    assert redact_text("") == ""
