"""The one redactor: remove every secret from a text before it is written anywhere that lasts.

Used by transcripts, Get-AzureStackLog_Output.log, manifests, history rows, the server's and the
portal's logs and error records (docs/security.md, "Redaction"). It removes:
* SAS signatures: `sig=`/`signature=` in any case, percent-encoded (`sig%3D`, `sig%253D`), split
  by PowerShell quoting (`'..sig=ab'+'cd..'`) or backtick escapes, and connection-string secrets
  (`SharedAccessSignature=`, `AccountKey=`, `SharedAccessKey=`), plus token/key query parameters;
* passwords: `-Password` / `-NewPassword` / `-CurrentPassword` / `-CertificatePassword` arguments
  typed as text (quoted with ' or " or the typographic quotes PowerShell also accepts, with
  embedded `''` / `""` / backticks, or bare words, also `-Password:value`), the positional
  passwords of New-CloudAdminUser and Set-CloudAdminUserPassword, the string given to
  ConvertTo-SecureString, `password=`/`pwd=` pairs, `"password": "..."` in JSON, SecureStrings
  serialised as CLIXML `<SS>`;
* support tokens (`AZSREQ1...`, `AZSRSP1...`: the whole token); HTTP credentials after
  `Authorization:` (Basic, Bearer, Negotiate, NTLM);
* the password in user-info of URLs (`https://user:pass@host/`) and of `\\\\user:pass@host\\share`.
Everything else is kept byte for byte. Redacting twice changes nothing (the corpus and random text
are tested so); only hostile mixes of command names inside secret values may lose a little more
the second time, never keep more.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

REDACTED = "REDACTED"

# PowerShell accepts the typographic quotes as quotes too.
_SQ = "'\u2018\u2019\u201a\u201b"
_DQ = '"\u201c\u201d\u201e'
_QUOTES = _SQ + _DQ

# --- key=value secrets ------------------------------------------------------------------------

# Names whose value is secret wherever `name=value` appears (SAS, connection strings, query
# strings, hashtables). Generic names (code, key) only as query parameters, so that ordinary text
# such as "exit code=1" or "partition key=ECE" stays readable.
_ANYWHERE = ("sig", "signature", "password", "passwd", "pwd", "newpassword", "currentpassword",
             "secret", "client_secret", "token", "access_token", "accountkey", "sharedaccesskey",
             "sharedaccesssignature")
_QUERY_ONLY = ("code", "key")


def _alternation(names: Iterable[str]) -> str:
    return "|".join(re.escape(n) for n in sorted(set(names), key=len, reverse=True))


# A bare value ends at a query separator, blank, quote or closing bracket; `%26` is an encoded `&`
# (the next parameter of a nested URL). A value split by PowerShell quoting ('ab'+'cd') or holding
# backtick escapes continues across the join.
_BARE_VALUE = (r"(?:(?:(?!%26)[^&\s" + _QUOTES + r"<>;,)\]}`])|`.|[" + _QUOTES + r"]\s*\+\s*[" + _QUOTES + r"])+")
_QUOTED_VALUE = r"(?:'(?:[^'\n]|'')*+'|\"(?:[^\"\\`\n]|\"\"|\\.|`.)*+\")"
_EQ = r"(?:=|%3D|%253D)"

# Connection strings: the whole value up to `;` (a SharedAccessSignature value is itself a query).
_CONN = re.compile(r"(?i)(?=[as])(?<![A-Za-z])(?P<name>AccountKey|SharedAccessKey|SharedAccessSignature)=(?P<val>[^;\s'\"]+)")
# A name starts a word, or follows a percent-encoded `?` (`%3F`, `%253F`) in a nested URL.
_NAME_START = r"(?:(?<![A-Za-z])|(?<=%3F)|(?<=%253F))"
# The leading lookahead on the names' first letters lets the engine skip ahead (5x faster).
_PAIR = re.compile(
    r"(?i)(?=[" + "".join(sorted({n[0] for n in _ANYWHERE})) + "])" + _NAME_START + r"(?P<name>" + _alternation(_ANYWHERE) + r")"
    r"(?:(?P<eq>" + _EQ + r")(?P<val>" + _BARE_VALUE + r")"
    r"|(?P<eq2>\s*=\s*)(?P<qval>" + _QUOTED_VALUE + r"))"
)
# `sig=` itself split by PowerShell quoting ('...si'+'g=abc...'): a join may sit between any two
# characters of the name, and the value continues as above.
_JOIN = r"(?:[" + _QUOTES + r"][ \t]*\+[ \t]*[" + _QUOTES + r"])"
_SPLIT_SIG = re.compile(r"(?i)(?=[sS])(?<![A-Za-z])(?P<name>s" + _JOIN + r"?i" + _JOIN + r"?g" + _JOIN + r"?)"
                        r"(?P<eq>" + _EQ + r")(?P<val>" + _BARE_VALUE + r")")
_QUERY = re.compile(r"(?i)(?P<pre>[?&]|%26)(?P<name>" + _alternation(_QUERY_ONLY) + r")(?P<eq>" + _EQ + r")(?P<val>" + _BARE_VALUE + r")")
# "password": "x" (JSON) and 'password': 'x' (a Python or PowerShell rendering of a mapping).
_JSON = re.compile(
    r"(?i)(?P<k>[\"'])(?P<name>" + _alternation(_ANYWHERE) + r")(?P=k)"
    r"(?P<colon>\s*:\s*)(?P<val>\"(?:[^\"\\\n]|\\.)*+\"|'(?:[^'\\\n]|\\.)*+')"
)


def _securestrings(text: str) -> str:
    """The content of every CLIXML `<SS>` (a serialised SecureString) replaced. A scan with find,
    not a pattern: with no `</SS>` left nothing after can close, so many unclosed tags stay linear."""
    parts: list[str] = []
    done = 0
    while True:
        start = text.find("<SS", done)
        if start < 0 or start + 3 >= len(text):
            break
        if text[start + 3] not in " \t\r\n>":  # <SSomething> is another tag
            parts.append(text[done:start + 3])
            done = start + 3
            continue
        opened = text.find(">", start)
        close = text.find("</SS>", opened) if opened >= 0 else -1
        if close < 0:
            break
        parts += [text[done:opened + 1], REDACTED]
        done = close
    parts.append(text[done:])
    return "".join(parts)
_SUPPORT_TOKEN = re.compile(r"(?<![A-Za-z0-9_\-])AZS(?:REQ|RSP)1[A-Za-z0-9_\-]+=*")
# HTTP credentials as a logged header or request shows them: `Authorization: Basic dXNlcjpwYXNz`,
# `Negotiate TlRMTVNT...`, `Bearer eyJ...`; the scheme stays, the credential goes.
_HTTP_CREDENTIAL = re.compile(r"(?i)(?P<pre>authorization[\"']?[ \t]*[:=][ \t]*[\"']?"
                              r"(?:basic|bearer|negotiate|ntlm|kerberos)[ \t]+)(?P<val>[A-Za-z0-9+/._~\-]+=*)")
# Starts at `://` (a literal the engine finds fast); the scheme before it does not matter.
_URL_USERINFO = re.compile(r"(?P<pre>://[^\s/@:" + _QUOTES + r"]*+):(?P<val>[^\s/@" + _QUOTES + r"]++)@")
_UNC_USERINFO = re.compile(r"(?P<pre>\\\\[^\s\\/@:" + _QUOTES + r"]++):(?P<val>[^\s\\/@" + _QUOTES + r"]++)@")


def _quoted_kept(value: str) -> str:
    """REDACTED in the quotes the value had, so the line still reads as it was typed."""
    if len(value) >= 2 and value[0] in _QUOTES and value[-1] in _QUOTES:
        return f"{value[0]}{REDACTED}{value[-1]}"
    return REDACTED


def _pair(m: re.Match[str]) -> str:
    if m.group("eq") is not None:
        return f"{m.group('name')}{m.group('eq')}{REDACTED}"
    return f"{m.group('name')}{m.group('eq2')}{_quoted_kept(m.group('qval'))}"


# --- PowerShell arguments -----------------------------------------------------------------------

# What ends a PowerShell statement or pipeline element for our purposes.
_STATEMENT_END = set(";|\n\r)}&")
_BLANK = " \t"


def _skip_blanks(text: str, i: int) -> int:
    while i < len(text):
        if text[i] in _BLANK:
            i += 1
        elif text.startswith("`\n", i):  # line continuation
            i += 2
        elif text.startswith("`\r\n", i):
            i += 3
        else:
            break
    return i


# A quoted string: '' / "" inside it and backtick escapes in "..." do not end it. Read within one
# line: in a transcript or a log a stray quote (a value shown without PowerShell's quoting) would
# otherwise pair with a quote lines below and take everything between. A password holding a line
# break keeps its first line redacted only (docs/security.md). Possessive: no backtracking.
_SINGLE_QUOTED = re.compile("[" + _SQ + "](?:[^\n" + _SQ + "]|[" + _SQ + "]{2})*+[" + _SQ + "]")
_DOUBLE_QUOTED = re.compile("[" + _DQ + "](?:[^\n" + _DQ + "`]|[" + _DQ + "]{2}|`[^\n])*+[" + _DQ + "]")


def _end_of_string(text: str, i: int) -> int:
    """Index after the quoted string starting at i; one not closed on its line ends with the line."""
    m = (_SINGLE_QUOTED if text[i] in _SQ else _DOUBLE_QUOTED).match(text, i)
    if m:
        return m.end()
    eol = text.find("\n", i)
    return len(text) if eol == -1 else eol


def _end_of_group(text: str, i: int) -> int:
    """Index after the bracketed group (...), {...} or [...] starting at i."""
    depth, j = 0, i
    while j < len(text):
        c = text[j]
        if c in _QUOTES:
            j = _end_of_string(text, j)
            continue
        if c == "`":
            j += 2
            continue
        if c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
            if depth == 0:
                return j + 1
        else:
            run = _GROUP_RUN.match(text, j)
            j = run.end() if run else j + 1
            continue
        j += 1
    return len(text)


# Characters that neither start nor end anything inside an argument: skipped in one step.
_ORDINARY_RUN = re.compile("[^" + re.escape(_QUOTES + "([{@$`,;|)}&" + _BLANK) + "\r\n]+")
_GROUP_RUN = re.compile("[^" + re.escape(_QUOTES + "`([{}])") + "]+")


def _end_of_argument(text: str, i: int) -> int:
    """Index after one PowerShell argument starting at i: a compound of quoted strings, bracketed
    groups, backtick escapes and ordinary characters, up to a blank or the end of the statement."""
    j = i
    while j < len(text):
        c = text[j]
        if c in _QUOTES:
            j = _end_of_string(text, j)
        elif c in "([{" or text.startswith("@(", j) or text.startswith("$(", j):
            j = _end_of_group(text, j + (1 if c in "@$" else 0))
        elif c == "`":
            j += 2
        elif c in _BLANK or c in _STATEMENT_END or c == ",":
            break
        else:
            run = _ORDINARY_RUN.match(text, j)
            j = run.end() if run else j + 1
    return min(j, len(text))


_PLACEHOLDER = re.compile(r"<[\w.\[\]]+>")


def _is_literal(arg: str) -> bool:
    """A value typed as text (not a variable, an expression or another parameter)."""
    # `<Object>`, `<String[]>`: a syntax placeholder in help text, not a value.
    return bool(arg) and arg[0] not in "$(@-[{" and _PLACEHOLDER.fullmatch(arg) is None


def _arguments(text: str, i: int) -> Iterable[tuple[int, int]]:
    """Spans of the tokens of one command's arguments starting at i, up to the end of its statement."""
    while True:
        i = _skip_blanks(text, i)
        if i >= len(text) or text[i] in _STATEMENT_END:
            return
        if text[i] == ",":  # array separator: the next element belongs to the same argument
            i += 1
            continue
        end = _end_of_argument(text, i)
        if end == i:
            return
        yield i, end
        i = end


def _prefixes(name: str, shortest: int) -> list[str]:
    return [name[:k] for k in range(shortest, len(name) + 1)]


_PASSWORD_PARAMS = ("password", "newpassword", "currentpassword", "certificatepassword")
# Two letters at least: `-C`, `-N`, `-P` alone are too common elsewhere (pep -c, head -n); the
# password cmdlets below are handled with every abbreviation PowerShell would accept.
# A misspelt or invented password parameter (-Pasword, -NewPasswrd, -AdminPwd) is refused by the
# binder, but the line is transcribed and quoted by the error view: its value is taken as secret too.
_PASSWORD_LIKE = r"[a-z]*(?:pass(?!thru)|pasw|pssw|pwd)[a-z]*"
_PASSWORD_PARAM = re.compile(
    r"(?i)(?=-)(?<![\w\-])-(?:" + _alternation(p for n in _PASSWORD_PARAMS for p in _prefixes(n, 2)) + "|" + _PASSWORD_LIKE +
    r")(?P<sep>:|(?=[ \t]))"
)
_PASSWORD_LIKE_NAME = re.compile(_PASSWORD_LIKE, re.IGNORECASE)


def _redact_spans(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` with each span's value replaced (spans that overlap an earlier one are dropped)."""
    parts: list[str] = []
    done = 0
    for start, end in sorted(set(spans)):
        if start < done:
            continue
        value = text[start:end]
        parts += [text[done:start], _quoted_kept(value) if value else value]
        done = end
    parts.append(text[done:])
    return "".join(parts)


def _password_arguments(text: str) -> str:
    spans: list[tuple[int, int]] = []
    for m in _PASSWORD_PARAM.finditer(text):
        if spans and m.start() < spans[-1][1]:
            continue  # inside the value just redacted (an unclosed quote runs to the end)
        i = _skip_blanks(text, m.end())
        if i < len(text) and text[i] not in _STATEMENT_END:
            end = _end_of_argument(text, i)
            if _is_literal(text[i:end]):
                spans.append((i, end))
    return _redact_spans(text, spans)


# Cmdlets whose passwords may be typed positionally: parameter names in position order, and
# which of them are secret. Common parameters that take a value must be skipped with their value.
_SECRET_COMMANDS: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {
    "new-cloudadminuser": (("password", "username"), frozenset({"password"})),
    "set-cloudadminuserpassword": (("username", "currentpassword", "newpassword"),
                                   frozenset({"currentpassword", "newpassword"})),
    # Every value of ConvertTo-SecureString is secret (the string, or a key).
    "convertto-securestring": (("string",), frozenset({"string", "securekey", "key"})),
}
_SWITCHES = ("asjob", "asplaintext", "force", "verbose", "debug", "whatif", "confirm")
_VALUED_COMMON = ("erroraction", "warningaction", "informationaction", "errorvariable", "warningvariable",
                  "informationvariable", "outvariable", "outbuffer", "pipelinevariable")
# The common parameters' aliases (-EA Stop, -OV out, -VB): matched exactly, as PowerShell does.
_VALUED_ALIASES = ("ea", "wa", "ia", "ev", "wv", "iv", "ov", "ob", "pv")
_SWITCH_ALIASES = ("vb", "db")
# Two families, read separately: a ConvertTo-SecureString inside a New-CloudAdminUser's argument
# must still be read as a command of its own.
_PASSWORD_COMMAND = re.compile(r"(?i)(?=[ns])(?<![\w\-])(?P<name>new-cloudadminuser|set-cloudadminuserpassword)(?=[ \t;|)}\r\n]|\Z)")
_CONVERT_COMMAND = re.compile(r"(?i)(?=c)(?<![\w\-])(?P<name>convertto-securestring)(?=[ \t;|)}\r\n]|\Z)")


def _at_statement_start(text: str, i: int) -> bool:
    """Whether a command name at i is where a command is invoked: at the start of a line (after a
    `PS>` or `>>` prompt too), after `;`, `|`, `(`, `{`, `=`, `,`, or the call operator. Elsewhere
    (`get-help New-CloudAdminUser`, a Get-Command table, an error view's `Name : message`) the
    words after it are not its arguments, and reading them positionally would mangle output."""
    j = i
    while j > 0 and text[j - 1] in _BLANK:
        j -= 1
    if j > 0 and text[j - 1] in "&." and (j == 1 or text[j - 2] in " \t\r\n;|({=,>"):
        j -= 1
        while j > 0 and text[j - 1] in _BLANK:
            j -= 1
    if j > 0 and text[j - 1] == ">":  # a prompt (PS>, >>, PS C:\> ), not the end of a tag (<SS>)
        return text.endswith(("PS>", ">>"), 0, j) or j < i
    return j == 0 or text[j - 1] in "\r\n;|({&=,"


def _command_arguments(commands: re.Pattern[str]) -> Callable[[str], str]:
    return lambda text: _redact_command_arguments(text, commands)


def _redact_command_arguments(text: str, commands: re.Pattern[str]) -> str:
    """The secret arguments of the password cmdlets, named with any abbreviation or positional."""
    spans: list[tuple[int, int]] = []
    scanned = 0  # a name inside the arguments already read is text, not a command (and skipping it keeps this linear)
    for m in commands.finditer(text):
        if m.start() < scanned or not _at_statement_start(text, m.start()):
            continue
        scanned = m.end()
        positional, secret = _SECRET_COMMANDS[m.group("name").lower()]
        named = set(positional) | secret
        position, expecting = 0, None  # expecting: the parameter whose value comes next
        for start, end in _arguments(text, m.end()):
            scanned = end
            token = text[start:end]
            if token == ":" and position == 0 and expecting is None:
                break  # `New-CloudAdminUser : <message>`, the error view's first line
            if expecting is None and token.startswith("-") and len(token) > 1 and token[1].isalpha():
                name, _, attached = token[1:].partition(":")
                name = name.lower()
                if name in _SWITCH_ALIASES or name in _VALUED_ALIASES:
                    expecting = "other" if name in _VALUED_ALIASES and not attached else None
                    continue
                matches = [p for p in named if p.startswith(name)]
                # An ambiguous or unknown abbreviation of a secret name still counts as secret.
                is_secret = (any(p in secret for p in matches) or any(p.startswith(name) for p in _PASSWORD_PARAMS)
                             or (not matches and _PASSWORD_LIKE_NAME.fullmatch(name) is not None))
                if any(s.startswith(name) for s in _SWITCHES) and not is_secret:
                    continue
                if attached:
                    if is_secret and _is_literal(attached):
                        spans.append((start + 2 + len(name), end))
                    continue
                expecting = "secret" if is_secret else "other"
                if not matches and not is_secret and not any(c.startswith(name) for c in _VALUED_COMMON):
                    expecting = None  # an unknown switch-like parameter takes no value
                continue
            if expecting is not None:
                if expecting == "secret" and _is_literal(token):
                    spans.append((start, end))
                expecting = None
                continue
            if position < len(positional):
                if positional[position] in secret and _is_literal(token):
                    spans.append((start, end))
                position += 1
    return _redact_spans(text, spans)


# --- the redactor -------------------------------------------------------------------------------

def _sub(pattern: re.Pattern[str], repl: Callable[[re.Match[str]], str]) -> Callable[[str], str]:
    return lambda text: pattern.sub(repl, text)


_TRIGGER_WORDS: list[str] = []


def _any(*words: str) -> Callable[[str], bool]:
    _TRIGGER_WORDS.extend(words)
    return lambda lowered: any(w in lowered for w in words)


def _all(*words: str) -> Callable[[str], bool]:
    _TRIGGER_WORDS.append(words[0])
    return lambda lowered: all(w in lowered for w in words)


def _split_join_test(lowered: str) -> bool:
    """A name split by quoting needs a `+` and a quote."""
    return "+" in lowered and any(q in lowered for q in _QUOTES)


_TRIGGER_WORDS.extend(_QUOTES)


# Each pass with a cheap test on the lower-cased text: a pass whose words do not occur cannot
# match, and `in` runs at memory speed where the case-insensitive patterns crawl (~4 MB/s for all
# passes over ordinary output without the tests, docs/security.md).
_PASSES: tuple[tuple[Callable[[str], bool], Callable[[str], str]], ...] = (
    (_any("cloudadminuser"), _command_arguments(_PASSWORD_COMMAND)),
    (_any("convertto-securestring"), _command_arguments(_CONVERT_COMMAND)),
    (_any("-pa", "-ne", "-cu", "-ce", "pass", "pasw", "pssw", "pwd"), _password_arguments),
    (_any("<ss"), _securestrings),
    (_any("azsreq1", "azsrsp1"), _sub(_SUPPORT_TOKEN, lambda m: REDACTED)),
    (_any("authorization"), _sub(_HTTP_CREDENTIAL, lambda m: f"{m.group('pre')}{REDACTED}")),
    (_any("accountkey=", "sharedaccesskey=", "sharedaccesssignature="), _sub(_CONN, lambda m: f"{m.group('name')}={REDACTED}")),
    (_any(*_ANYWHERE), _sub(_JSON, lambda m: f"{m.group('k')}{m.group('name')}{m.group('k')}{m.group('colon')}"
                                             f"{m.group('val')[0]}{REDACTED}{m.group('val')[0]}")),
    (_any(*_QUERY_ONLY), _sub(_QUERY, lambda m: f"{m.group('pre')}{m.group('name')}{m.group('eq')}{REDACTED}")),
    (_any(*_ANYWHERE), _sub(_PAIR, _pair)),
    (_split_join_test, _sub(_SPLIT_SIG, lambda m: f"{m.group('name')}{m.group('eq')}{REDACTED}")),
    (_all("://", "@"), _sub(_URL_USERINFO, lambda m: f"{m.group('pre')}:{REDACTED}@")),
    (_all("\\\\", "@"), _sub(_UNC_USERINFO, lambda m: f"{m.group('pre')}:{REDACTED}@")),
)


# Any word of any pass, in one pattern: most texts (paths, statuses, log lines) have none and
# return after one scan in C (~1 us for a short string instead of ~7).
_ANY_TRIGGER = re.compile("|".join(re.escape(w) for w in sorted(set(_TRIGGER_WORDS), key=len, reverse=True)))


def redact(text: str) -> str:
    """`text` with every secret replaced by REDACTED; everything else unchanged."""
    if not text:
        return text
    # Passes only ever remove words, so testing the original text is enough.
    lowered = text.lower()
    if _ANY_TRIGGER.search(lowered) is None:
        return text
    for may_match, step in _PASSES:
        if may_match(lowered):
            text = step(text)
    return text


def redact_value(value: Any) -> Any:
    """A JSON-like value (dicts, lists, strings, numbers) with every string redacted, keys too.
    Redact a structure before serialising it: redacting the JSON text could cut a string's
    closing quote (an escaped \\" inside a typed command) and break the document."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact(k) if isinstance(k, str) else k: redact_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_value(v) for v in value]
    return value


class RedactingFormatter(logging.Formatter):
    """A logging formatter whose every line (message, arguments, traceback) is redacted: a log
    call that quotes a request, a path or an exception cannot put a secret in the file."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))
