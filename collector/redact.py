"""Remove secrets from anything the engine writes or prints: SAS signatures, passwords, keys, tokens.

Applied to every line of Get-AzureStackLog_Output.log, to the manifest and to console messages
(sos report leaked upload passwords into its log and manifest; we do not). Uses the SAS module's
scrubber first (it knows percent-encoded and connection-string forms), then our own.
"""
from __future__ import annotations

import re

from collector.sas import redact_text as _sas_redact

_QUERY_SECRET = re.compile(r"(?i)\b(sig|signature|password|pwd|token|accountkey|sharedaccesskey|secret)=([^&\s;'\"]+)")


def redact(text: str) -> str:
    text = _sas_redact(text)
    return _QUERY_SECRET.sub(lambda m: f"{m.group(1)}=REDACTED", text)
