"""The PowerShell tokenizer: scans one token at a position, in command or expression mode.

PowerShell's tokenizer is driven by the parser: the same characters mean different things at the
start of a pipeline (expression mode: `-eq` is an operator, `[` opens a type) and in command
arguments (command mode: `C:\\x`, `10.0.0.5`, `a=b` are bare words; `-Name` is a parameter). So the
parser asks for one token at a time with a mode; `Lexer.scan` never looks further than it must.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from .ast import NumberValue
from .errors import ParseError

COMMAND = "command"
EXPRESSION = "expression"

DASHES = "-\u2013\u2014\u2015"
SQUOTES = "'\u2018\u2019\u201a\u201b"
DQUOTES = '"\u201c\u201d\u201e'
NEWLINES = "\r\n"

OPERATORS = {
    "eq", "ne", "gt", "ge", "lt", "le", "like", "notlike", "match", "notmatch", "contains",
    "notcontains", "in", "notin", "replace", "split", "join", "is", "isnot", "as", "and", "or",
    "xor", "not", "band", "bor", "bxor", "bnot", "shl", "shr", "f",
}
_CASE_OPS = {"eq", "ne", "gt", "ge", "lt", "le", "like", "notlike", "match", "notmatch", "contains",
             "notcontains", "in", "notin", "replace", "split", "join"}
for _op in list(_CASE_OPS):
    OPERATORS.add("c" + _op)
    OPERATORS.add("i" + _op)

_ESCAPES = {"0": "\0", "a": "\a", "b": "\b", "e": "\x1b", "f": "\f", "n": "\n", "r": "\r",
            "t": "\t", "v": "\v"}
_MULTIPLIERS = {"kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30, "tb": 1 << 40, "pb": 1 << 50}
_INT32 = (-(1 << 31), (1 << 31) - 1)
_INT64 = (-(1 << 63), (1 << 63) - 1)
_DECIMAL_MAX = Decimal("79228162514264337593543950335")


def _digit(c: str) -> bool:
    return c != "" and c in "0123456789"


def is_space(c: str) -> bool:
    return c != "" and c not in NEWLINES and (c.isspace() or c == "\0")


def force_new(c: str) -> bool:
    """True when `c` ends a bare word whatever the mode (PowerShell's ForceStartNewToken)."""
    return c == "" or c == "\0" or c in "&(),;{|}" or c.isspace()


def ends_number(c: str) -> bool:
    """Characters that end a number in expression mode ('7+' is two tokens, '7z' is one)."""
    return force_new(c) or c in "!#%*+-./<=>]" or c in DASHES


def is_ident_start(c: str) -> bool:
    return c != "" and (c.isalpha() or c == "_")


def is_ident(c: str) -> bool:
    return c != "" and (c.isalnum() or c == "_")


def is_var_char(c: str) -> bool:
    return c != "" and (c.isalnum() or c in "_?")


# An expansion inside an expandable string: ('var' | 'sub', start, end) in the source text.
Span = tuple[str, int, int]
# One part of an expandable string: literal text, or a span to expand.
Part = str | Span
# What a number literal holds once scanned: (value, .NET type name), or None when it does not fit.
NumberResult = tuple[NumberValue, str] | None


@dataclass(frozen=True)
class VariableName:
    """The name of a `$variable` / `@splat` token: `scope` lower-case (None if none)."""

    name: str
    scope: str | None
    braced: bool


@dataclass
class Token:
    """One token. `kind` is one of: eof newline semi comma pipe oror amp andand lparen rparen lcurly
    rcurly lbracket rbracket dollarparen atparen atcurly dot dotdot coloncolon op parameter number
    string variable splat generic ident redirection redirect_in minusminus.
    `value` is the token's text payload: a string's processed text (then `quote` is the quoting and
    `parts` the expansion parts when the string expands), a bare word, an operator, a parameter
    name, a redirection's stream. A number carries `number` and `type_name`, a variable or splat
    `variable`; a redirection `append` (`>>`) or `merge` (the stream of `2>&1`)."""

    kind: str
    start: int
    end: int
    text: str
    value: str = ""
    quote: str | None = None
    parts: list[Part] | None = None
    colon: bool = False          # parameter written -Name:
    number: NumberValue | None = None
    type_name: str | None = None  # numbers
    variable: VariableName | None = None
    append: bool = False
    merge: str = ""

    @property
    def expandable(self) -> bool:
        return self.parts is not None and any(not isinstance(p, str) for p in self.parts)


class Lexer:
    def __init__(self, text: str, limit: int | None = None):
        self.text = text
        self.limit = len(text) if limit is None else limit

    # ----- helpers --------------------------------------------------------------------------------
    def ch(self, i: int) -> str:
        return self.text[i] if 0 <= i < self.limit else ""

    def error(self, error_id: str, offset: int, end: int | None = None, *args: object) -> ParseError:
        return ParseError(error_id, self.text, offset, end, *args)

    def tok(self, kind: str, start: int, end: int, value: str = "") -> Token:
        return Token(kind, start, end, self.text[start:end], value)

    def skip_trivia(self, i: int) -> int:
        """Skip whitespace, line continuations and comments (not newlines)."""
        while True:
            c = self.ch(i)
            if is_space(c):
                i += 1
            elif c == "`" and self.ch(i + 1) in ("\r", "\n"):
                i += 3 if self.text[i + 1:i + 3] == "\r\n" else 2
            elif c == "#":
                while self.ch(i) not in ("", "\r", "\n"):
                    i += 1
            elif c == "<" and self.ch(i + 1) == "#":
                close = self.text.find("#>", i + 2, self.limit)
                if close < 0:
                    raise self.error("MissingTerminatorMultiLineComment", self.limit)
                i = close + 2
            else:
                return i

    # ----- the entry point ------------------------------------------------------------------------
    def scan(self, pos: int, mode: str = COMMAND) -> Token:
        i = self.skip_trivia(pos)
        c = self.ch(i)
        cmd = mode == COMMAND
        if c == "":
            return self.tok("eof", i, i)
        if c in NEWLINES:
            return self.tok("newline", i, i + (2 if self.text[i:i + 2] == "\r\n" else 1))
        simple = {";": "semi", ",": "comma", "(": "lparen", ")": "rparen", "{": "lcurly",
                  "}": "rcurly", "]": "rbracket"}
        if c in simple:
            return self.tok(simple[c], i, i + 1)
        n = self.ch(i + 1)
        if c == "|":
            return self.tok("oror", i, i + 2) if n == "|" else self.tok("pipe", i, i + 1)
        if c == "&":
            return self.tok("andand", i, i + 2) if n == "&" else self.tok("amp", i, i + 1)
        if c == "[":
            if cmd and not force_new(n):
                return self.generic(i, i)
            return self.tok("lbracket", i, i + 1)
        if c in SQUOTES:
            return self.single_quoted(i)
        if c in DQUOTES:
            return self.double_quoted(i)
        if c == "@":
            return self.at(i, cmd)
        if c == "$":
            return self.dollar(i, cmd)
        if c in DASHES:
            return self.dash(i, cmd)
        if c == ".":
            if n == ".":
                if cmd and not force_new(self.ch(i + 2)):
                    return self.generic(i, i)
                return self.tok("dotdot", i, i + 2)
            if _digit(n):
                return self.number(i, cmd)
            if cmd and not force_new(n) and n != "$" and n not in SQUOTES + DQUOTES:
                return self.generic(i, i)
            return self.tok("dot", i, i + 1)
        if c == ":" and n == ":":
            if cmd and not force_new(self.ch(i + 2)):
                return self.generic(i, i)
            return self.tok("coloncolon", i, i + 2)
        if c in "123456" and n == ">":
            return self.redirection(i, c, i + 1)
        if c == "*" and n == ">":
            return self.redirection(i, "*", i + 1)
        if c == ">":
            return self.redirection(i, "1", i)
        if c == "<":
            return self.tok("redirect_in", i, i + 1)
        if _digit(c):
            return self.number(i, cmd)
        if c in "+" and cmd and (_digit(n) or (n == "." and _digit(self.ch(i + 2)))):
            return self.number(i, cmd)
        if c in "=+*/%!":
            return self.operator(i, cmd)
        if cmd:
            return self.generic(i, i)
        if is_ident_start(c):
            j = i
            while is_ident(self.ch(j)):
                j += 1
            if force_new(self.ch(j)) or self.ch(j) in ".[]=:+-*/%!<>#" or self.ch(j) in DASHES:
                return self.tok("ident", i, j, value=self.text[i:j])
        return self.generic(i, i)

    # ----- operators ------------------------------------------------------------------------------
    def operator(self, i: int, cmd: bool) -> Token:
        c, n = self.ch(i), self.ch(i + 1)
        end = i + 1
        if n == "=" and c in "+*/%":
            end = i + 2
        elif c == "+" and n == "+":
            end = i + 2
        elif c == "=" and n == "=":
            end = i + 1
        if cmd and not force_new(self.ch(end)):
            return self.generic(i, i)
        return self.tok("op", i, end, value=self.text[i:end])

    def dash(self, i: int, cmd: bool) -> Token:
        n = self.ch(i + 1)
        if n != "" and n in DASHES:
            if cmd and not force_new(self.ch(i + 2)):
                return self.generic(i, i)          # `--Foo`, `--%`: a bare word
            if cmd:
                return self.tok("minusminus", i, i + 2)
            return self.tok("op", i, i + 2, value="--")
        if n == "=":
            if cmd and not force_new(self.ch(i + 2)):
                return self.generic(i, i)
            return self.tok("op", i, i + 2, value="-=")
        if is_ident_start(n) or n == "?":
            return self.parameter(i, cmd)
        if _digit(n) or (n == "." and _digit(self.ch(i + 2))):
            if cmd:
                return self.number(i, cmd)
        if cmd and not force_new(n):
            return self.generic(i, i)
        return self.tok("op", i, i + 1, value="-")

    def parameter(self, i: int, cmd: bool) -> Token:
        j = i + 1
        while True:
            c = self.ch(j)
            if c == "" or c.isspace() or c in "{}(),;|&.[\r\n\0" or c == ":":
                break
            if c in SQUOTES + DQUOTES or c == "$" or c == "`":
                break
            j += 1
        name = self.text[i + 1:j]
        if not cmd and name.lower() in OPERATORS:
            return self.tok("op", i, j, value="-" + name.lower())
        colon = False
        end = j
        if self.ch(j) == ":" and cmd:
            colon = True
            end = j + 1
        elif cmd and self.ch(j) != "" and self.ch(j) in SQUOTES + DQUOTES + "$`":
            # `-a"b"` is one bare word in command mode, not a parameter
            return self.generic(i, i)
        t = self.tok("parameter", i, end, value=name)
        t.colon = colon
        return t

    def redirection(self, i: int, stream: str, gt: int) -> Token:
        j = gt + 1
        append = False
        if self.ch(j) == ">":
            append = True
            j += 1
        elif self.ch(j) == "&" and self.ch(j + 1) in ("1", "2") and self.ch(j + 1) != "":
            t = self.tok("redirection", i, j + 2, value=stream)
            t.merge = self.ch(j + 1)
            return t
        t = self.tok("redirection", i, j, value=stream)
        t.append = append
        return t

    # ----- numbers --------------------------------------------------------------------------------
    def number(self, i: int, cmd: bool) -> Token:
        j, parsed = scan_number(self.text, i, self.limit)
        c = self.ch(j)
        if parsed is None or not (force_new(c) if cmd else ends_number(c)):
            return self.generic(i, i)   # `10.0.0.5`, `7z`, `08:00` are bare words
        value = parsed[1]()
        if value is None:
            if cmd:
                return self.generic(i, i)
            raise self.error("BadNumericConstant", i, j, self.text[i:j])
        t = self.tok("number", i, j)
        t.number, t.type_name = value
        return t

    # ----- strings --------------------------------------------------------------------------------
    def single_quoted(self, i: int) -> Token:
        j = i + 1
        out = []
        while True:
            c = self.ch(j)
            if c == "":
                raise self.error("TerminatorExpectedAtEndOfString", i, self.limit, "'")
            if c in SQUOTES:
                if self.ch(j + 1) in SQUOTES and self.ch(j + 1) != "":
                    out.append(c)
                    j += 2
                    continue
                t = self.tok("string", i, j + 1, value="".join(out))
                t.quote = "'"
                return t
            out.append(c)
            j += 1

    def double_quoted(self, i: int) -> Token:
        parts: list[Part] = []
        j = self.expandable_body(i + 1, parts, terminator=DQUOTES, start=i, here=False)
        return self.make_string(i, j, parts, '"')

    def make_string(self, i: int, j: int, parts: list[Part], quote: str | None) -> Token:
        value = "".join(p if isinstance(p, str) else self.text[p[1]:p[2]] for p in parts)
        merged: list[Part] = []
        for p in parts:
            last = merged[-1] if merged else None
            if isinstance(p, str) and isinstance(last, str):
                merged[-1] = last + p
            else:
                merged.append(p)
        t = self.tok("string", i, j, value=value)
        t.quote, t.parts = quote, merged
        return t

    def expandable_body(self, j: int, parts: list[Part], terminator: str, start: int, here: bool) -> int:
        """Scan a double-quoted body from j; return the index after the closing quote."""
        while True:
            c = self.ch(j)
            if c == "":
                raise self.error("TerminatorExpectedAtEndOfString", start, self.limit,
                                 '"@' if here else '"')
            if here:
                if c in NEWLINES:
                    k = j + (2 if self.text[j:j + 2] == "\r\n" else 1)
                    if self.ch(k) in DQUOTES and self.ch(k + 1) == "@":
                        return k + 2
                    parts.append(self.text[j:k])
                    j = k
                    continue
            elif c in terminator:
                if self.ch(j + 1) in DQUOTES and self.ch(j + 1) != "":
                    parts.append(c)
                    j += 2
                    continue
                return j + 1
            if c == "`":
                j = self.backtick(j, parts)
                continue
            if c == "$":
                span = self.dollar_in_string(j)
                if span is not None:
                    parts.append(span)
                    j = span[2]
                    continue
            parts.append(c)
            j += 1

    def backtick(self, j: int, parts: list[Part]) -> int:
        n = self.ch(j + 1)
        if n == "":
            parts.append("`")
            return j + 1
        if n in _ESCAPES:
            parts.append(_ESCAPES[n])
            return j + 2
        if n == "u" and self.ch(j + 2) == "{":
            k = j + 3
            while self.ch(k) != "" and self.ch(k) in "0123456789abcdefABCDEF":
                k += 1
                if k - (j + 3) > 6:
                    raise self.error("TooManyDigitsInUnicodeEscapeSequence", k - 1, k)
            digits = self.text[j + 3:k]
            if self.ch(k) != "}":
                if len(digits) == 6 and self.ch(k) == "":
                    raise self.error("MissingUnicodeEscapeSequenceTerminator", k)
                raise self.error("InvalidUnicodeEscapeSequence", k if digits else j, k + 1)
            if not digits:
                raise self.error("InvalidUnicodeEscapeSequence", j, k + 1)
            code = int(digits, 16)
            if code > 0x10FFFF:
                raise self.error("InvalidUnicodeEscapeSequenceValue", j + 3, k)
            parts.append(chr(code))
            return k + 1
        if n == "u":
            raise self.error("InvalidUnicodeEscapeSequence", j, j + 2)
        if n == "\r" and self.ch(j + 2) == "\n":
            parts.append("\r\n")
            return j + 3
        parts.append(n)
        return j + 2

    def dollar_in_string(self, j: int) -> Span | None:
        """A `$...` expansion inside an expandable string: ('var'|'sub', start, end) or None."""
        n = self.ch(j + 1)
        if n == "(":
            return ("sub", j, self.matching_paren(j + 2, j))
        if n == "{":
            return ("var", j, self.braced_var_end(j))
        if n in ("$", "^") and n != "" or n == "?":
            return ("var", j, j + 2)
        if is_var_char(n) and n != "?":
            return ("var", j, self.var_name_end(j + 1, in_string=True))
        return None

    def matching_paren(self, k: int, start: int) -> int:
        """Index after the `)` closing a `$(` whose body starts at k (skips nested tokens)."""
        depth = 1
        mode = COMMAND
        while True:
            t = self.scan(k, mode)
            if t.kind == "eof":
                raise ParseError("MissingEndParenthesisInSubexpression", self.text, t.start)
            if t.kind in ("lparen", "dollarparen", "atparen"):
                depth += 1
            elif t.kind == "rparen":
                depth -= 1
                if depth == 0:
                    return t.end
            k = max(t.end, k + 1)

    def braced_var_end(self, j: int) -> int:
        k = j + 2
        while True:
            c = self.ch(k)
            if c == "":
                raise self.error("IncompleteDollarVariableReference", j, self.limit)
            if c == "`" and self.ch(k + 1) != "":
                k += 2
                continue
            if c == "}":
                if k == j + 2:
                    raise self.error("EmptyVariableReference", j, k + 1)
                return k + 1
            k += 1

    def var_name_end(self, k: int, in_string: bool = False) -> int:
        while is_var_char(self.ch(k)) and not (in_string and self.ch(k) == "?"):
            k += 1
        if self.ch(k) == ":" and self.ch(k + 1) != ":" and is_var_char(self.ch(k + 1)):
            k += 1
            while is_var_char(self.ch(k)) and not (in_string and self.ch(k) == "?"):
                k += 1
        return k

    def here_string(self, i: int, quote: str) -> Token | None:
        """A here-string from its `@'` / `@"` at i; None when the header is not one."""
        k = i + 2
        while is_space(self.ch(k)):
            k += 1
        if self.ch(k) not in NEWLINES or self.ch(k) == "":
            return None  # not a here-string header: `@"` then text on the same line
        k += 2 if self.text[k:k + 2] == "\r\n" else 1
        if quote == "'":
            j = k
            while True:
                # the footer must start a line: newline then '@ ; an empty body is allowed
                if j == k and self.ch(j) in SQUOTES and self.ch(j + 1) == "@":
                    return self.here_single(i, j + 2, "")
                c = self.ch(j)
                if c == "":
                    raise self.error("TerminatorExpectedAtEndOfString", i, self.limit, "'@")
                if c in NEWLINES:
                    m = j + (2 if self.text[j:j + 2] == "\r\n" else 1)
                    if self.ch(m) in SQUOTES and self.ch(m + 1) == "@" and self.ch(m) != "":
                        return self.here_single(i, m + 2, self.text[k:j])
                    j = m
                    continue
                j += 1
        parts: list[Part] = []
        if self.ch(k) in DQUOTES and self.ch(k + 1) == "@" and self.ch(k) != "":
            return self.make_string(i, k + 2, parts, '@"')
        end = self.expandable_body(k, parts, terminator="", start=i, here=True)
        return self.make_string(i, end, parts, '@"')

    def here_single(self, i: int, end: int, value: str) -> Token:
        t = self.tok("string", i, end, value=value)
        t.quote = "@'"
        return t

    # ----- @ and $ --------------------------------------------------------------------------------
    def at(self, i: int, cmd: bool) -> Token:
        n = self.ch(i + 1)
        if n == "(":
            return self.tok("atparen", i, i + 2)
        if n == "{":
            return self.tok("atcurly", i, i + 2)
        if n != "" and n in SQUOTES + DQUOTES:
            t = self.here_string(i, "'" if n in SQUOTES else '"')
            if t is not None:
                return t
            if not cmd:
                raise self.error("UnexpectedToken", i, i + 2, self.text[i:i + 2])
        if is_var_char(n) and n != "?":
            end = self.var_name_end(i + 1)
            if not cmd or force_new(self.ch(end)):
                return self.variable_token(i, end, splat=True)
        if cmd:
            return self.generic(i, i)
        raise self.error("UnexpectedToken", i, i + 1, "@")

    def dollar(self, i: int, cmd: bool) -> Token:
        n = self.ch(i + 1)
        if n == "(":
            return self.tok("dollarparen", i, i + 2)
        if n == "{":
            return self.variable_token(i, self.braced_var_end(i), braced=True)
        if n in ("$", "^", "?") and n != "":
            end = i + 2
        elif is_var_char(n):
            end = self.var_name_end(i + 1)
        else:
            if cmd:
                return self.generic(i, i)
            raise self.error("InvalidVariableReference", i, i + 1)
        return self.variable_token(i, end)

    def variable_token(self, i: int, end: int, splat: bool = False, braced: bool = False) -> Token:
        if braced:
            name = _unescape_braced(self.text[i + 2:end - 1])
        else:
            name = self.text[i + 1:end]
        scope = None
        if ":" in name and not braced or (braced and ":" in name and not name.startswith(":")):
            head, _, tail = name.partition(":")
            if head and tail:
                scope, name = head.lower(), tail
        t = self.tok("splat" if splat else "variable", i, end)
        t.variable = VariableName(name, scope, braced)
        return t

    # ----- bare words -----------------------------------------------------------------------------
    def generic(self, i: int, j: int) -> Token:
        """A bare word from i: runs to a token-ending character; quotes and `$` inside are part of it
        (`a"b c"` is one word `ab c`) and make it expandable."""
        parts: list[Part] = []
        k = j
        while True:
            c = self.ch(k)
            if force_new(c):
                break
            if c == "`":
                if self.ch(k + 1) == "":
                    parts.append("`")
                    k += 1
                    continue
                k = self.backtick(k, parts)
                continue
            if c in SQUOTES:
                t = self.single_quoted(k)
                parts.append(t.value)
                k = t.end
                continue
            if c in DQUOTES:
                sub: list[Part] = []
                k = self.expandable_body(k + 1, sub, terminator=DQUOTES, start=k, here=False)
                parts.extend(sub)
                continue
            if c == "$":
                span = self.dollar_in_string(k)
                if span is not None:
                    parts.append(span)
                    k = span[2]
                    continue
            parts.append(c)
            k += 1
        if k == j:  # never a zero-width token, whatever the input
            parts.append(self.ch(k))
            k += 1
        t = self.make_string(i, k, parts, None)
        t.kind = "generic"
        return t


def _unescape_braced(raw: str) -> str:
    out, k = [], 0
    while k < len(raw):
        if raw[k] == "`" and k + 1 < len(raw):
            out.append(raw[k + 1])
            k += 2
        else:
            out.append(raw[k])
            k += 1
    return "".join(out)


# ----- number literals ----------------------------------------------------------------------------

def scan_number(text: str, i: int, limit: int) -> tuple[int, tuple[str, Callable[[], NumberResult]] | None]:
    """Scan a number literal at i. Returns (end, parsed) where parsed is None when the characters
    are not a number, else (digits, value_fn) and value_fn() gives (value, type_name) or None when
    the value does not fit (BadNumericConstant)."""
    j = i
    sign = ""
    if j < limit and (text[j] == "+" or text[j] in DASHES):
        sign = "-" if text[j] in DASHES else ""
        j += 1
    hexa = False
    real = False
    if text[j:j + 2].lower() == "0x" and j + 2 < limit and text[j + 2] in "0123456789abcdefABCDEF":
        hexa = True
        k = j + 2
        while k < limit and text[k] in "0123456789abcdefABCDEF":
            k += 1
        digits = text[j + 2:k]
    else:
        k = j
        while k < limit and _digit(text[k]):
            k += 1
        if k < limit and text[k] == "." and k + 1 < limit and _digit(text[k + 1]):
            real = True
            k += 1
            while k < limit and _digit(text[k]):
                k += 1
        if k == j:
            return k, None
        if k < limit and text[k] in "eE":
            m = k + 1
            if m < limit and (text[m] == "+" or text[m] in DASHES):
                m += 1
            if m < limit and _digit(text[m]):
                while m < limit and _digit(text[m]):
                    m += 1
                real = True
                k = m
        digits = text[j:k].replace("\u2013", "-").replace("\u2014", "-").replace("\u2015", "-")
    suffix = ""
    for s in ("uy", "us", "ul", "y", "s", "l", "u", "n", "d"):
        if text[k:k + len(s)].lower() == s and k + len(s) <= limit:
            if hexa and s == "d":
                continue
            # 'd'/'s'... must not be the start of a multiplier or word; checked by the caller's
            # end-of-token test
            suffix = s
            k += len(s)
            break
    mult = 1
    low = text[k:k + 2].lower()
    if low in _MULTIPLIERS and k + 2 <= limit:
        mult = _MULTIPLIERS[low]
        k += 2

    def value() -> NumberResult:
        return _number_value(sign, digits, hexa, real, suffix, mult)

    return k, (digits, value)


def _fits(v: int, bounds: tuple[int, int]) -> bool:
    return bounds[0] <= v <= bounds[1]


def _number_value(sign: str, digits: str, hexa: bool, real: bool, suffix: str, mult: int) -> NumberResult:
    neg = sign == "-"
    if real:
        if suffix == "d":
            try:
                d = Decimal(digits) * mult
            except InvalidOperation:
                return None
            d = -d if neg else d
            return (d, "Decimal") if abs(d) <= _DECIMAL_MAX else None
        f = float(digits) * mult
        f = -f if neg else f
        if suffix == "":
            return f, "Double"
        return _typed_int(int(f), suffix)
    if hexa:
        n = int(digits, 16)
        length = len(digits)
        if "u" not in suffix:
            width = {"y": 8, "s": 16, "l": 64}.get(suffix, 32 if length <= 8 else 64)
            if length * 4 == width and n >> (width - 1):
                n -= 1 << width          # 0xFFFFFFFF is -1: a full-width literal carries the sign bit
        if length > 16 and suffix != "n":
            return None
        v = (-n if neg else n) * mult
        if suffix == "" and length > 8:
            return (v, "Int64") if _fits(v, _INT64) else None
    else:
        v = int(digits) * mult
        v = -v if neg else v
    if suffix == "":
        if _fits(v, _INT32):
            return v, "Int32"
        if _fits(v, _INT64):
            return v, "Int64"
        if hexa:
            return None
        if abs(v) <= _DECIMAL_MAX:
            return Decimal(v), "Decimal"
        return float(v), "Double"
    if suffix == "d":
        return (Decimal(v), "Decimal") if abs(v) <= _DECIMAL_MAX else None
    return _typed_int(v, suffix)


def _typed_int(v: int, suffix: str) -> NumberResult:
    ranges = {"y": ("SByte", -128, 127), "uy": ("Byte", 0, 255), "s": ("Int16", -32768, 32767),
              "us": ("UInt16", 0, 65535), "l": ("Int64",) + _INT64, "ul": ("UInt64", 0, (1 << 64) - 1)}
    if suffix == "n":
        return v, "BigInteger"
    if suffix == "u":
        if 0 <= v < (1 << 32):
            return v, "UInt32"
        if 0 <= v < (1 << 64):
            return v, "UInt64"
        return None
    name, lo, hi = ranges[suffix]
    return (v, name) if lo <= v <= hi else None
