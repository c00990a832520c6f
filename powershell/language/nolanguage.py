"""NoLanguage: what a PEP session (a JEA RestrictedRemoteServer runspace) lets through.

Exactly one pipeline of commands named by bare words, whose arguments are constants: strings
(quoted strings must not expand anything), numbers, bare words, arrays of those `a,b,c`, and
`$true` / `$false` / `$null`. Everything else parses but is refused with PowerShell's
ScriptsNotAllowed error. Decision: `@('a','b')` is refused too. It is an array *subexpression*
(a statement list), which PowerShell's NoLanguage mode rejects; `a,b` is the way to pass arrays.
`exit` on its own line becomes a call to the command named `exit` (JEA's alias of Exit-PSSession).
"""
from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

from powershell.invocation import NO_VALUE, CommandArgument, CommandCall
from powershell.limits import shorten

from . import ast as A
from .errors import ParseError, ScriptsNotAllowedError
from .parser import parse

# What a NoLanguage argument can be: a constant, or an array `a,b,c` of them.
ConstantValue = str | int | float | Decimal | bool | None | list["ConstantValue"]

_CONSTANT_VARIABLES: dict[str, ConstantValue] = {"true": True, "false": False, "null": None}
_DATE_PATTERN = re.compile(
    r"get-date|\[\s*(system\.)?datetime(offset)?\s*\]|\.\s*add(days|hours|minutes|seconds|months|years|"
    r"milliseconds|ticks)\s*\(|\.\s*to(universal|local)time\s*\(|::\s*(utc)?now\b|::\s*today\b",
    re.IGNORECASE,
)

_CONSTRUCTS = {
    A.Variable: "variable", A.Assignment: "assignment", A.SubExpression: "subexpression",
    A.ArrayExpression: "array subexpression", A.ExpandableString: "expandable string",
    A.InvokeMember: "method call", A.Member: "member access", A.ScriptBlockExpression: "script block",
    A.TypeLiteral: "type literal", A.Convert: "type conversion", A.Hashtable: "hashtable",
    A.Paren: "parenthesised pipeline", A.Index: "index", A.Binary: "operator", A.Unary: "operator",
    A.PipelineChain: "pipeline chain", A.KeywordStatement: "keyword statement",
    A.CommandExpression: "expression", A.FileRedirection: "redirection",
    A.MergingRedirection: "redirection",
}


def to_command_calls(text: str) -> list[CommandCall]:
    """The commands of the one pipeline `text` holds, in order; [] when there is nothing to run.

    Raises ParseError for malformed input, ScriptsNotAllowedError for anything NoLanguage refuses.
    """
    try:
        script = parse(text)
    except ParseError as e:
        if e.error_id == "AmpersandNotAllowed" and _SAS_HINTS.search(text):
            # The classic SAS-URL trap: PowerShell ends the argument at the first unquoted '&'.
            e.hint = ('A SAS URL contains "&": put the whole URL in quotes, e.g. -OutputSasUri '
                      '"https://<account>.blob.core.windows.net/<container>?sv=...&sig=...".')
        raise
    return _Checker(text).script(script)


_SAS_HINTS = re.compile(r"[?&](sv|sig|se|sp|sr)=", re.IGNORECASE)


class _Checker:
    def __init__(self, text: str) -> None:
        self.text = text
        self.parameter: str | None = None  # the parameter whose value is being checked, for the hint

    def refuse(self, node: A.Node, construct: str | None = None) -> ScriptsNotAllowedError:
        return ScriptsNotAllowedError(
            self.text, node.start, node.end, hint=self.hint(node),
            construct=construct or _CONSTRUCTS.get(type(node), type(node).__name__),
        )

    def hint(self, node: A.Node) -> str | None:
        if not _DATE_PATTERN.search(self.text):
            return None
        name = self.parameter if self.parameter and "date" in self.parameter.lower() else "FromDate"
        name = shorten(name[0].upper() + name[1:])
        example = datetime.now().strftime("%m/%d/%Y") + " 08:00"
        variable = name[0].lower() + name[1:]
        return (f'Dates cannot be computed in the PEP session: give a literal such as -{name} '
                f'"{example}", or compute the date on your workstation and pass it with '
                f'$using:{variable}.')

    def script(self, script: A.ScriptBlock) -> list[CommandCall]:
        if not script.statements:
            return []
        if len(script.statements) > 1:
            raise self.refuse(script.statements[1], "several statements")
        stmt = script.statements[0]
        if isinstance(stmt, A.KeywordStatement) and stmt.keyword == "exit" and not stmt.blocks \
                and stmt.text.strip().lower() == "exit":
            return [CommandCall("exit", [], stmt.start, stmt.end)]
        if not isinstance(stmt, A.Pipeline):
            raise self.refuse(stmt)
        if stmt.background:
            raise self.refuse(stmt, "background operator")
        return [self.command(element) for element in stmt.elements]

    def command(self, element: A.Node) -> CommandCall:
        if not isinstance(element, A.Command):
            raise self.refuse(element)
        if element.invocation:
            raise self.refuse(element, f"'{element.invocation}' invocation operator")
        if element.redirections:
            raise self.refuse(element.redirections[0])
        name = element.elements[0]
        if not (isinstance(name, A.StringConstant) and name.kind == "bare"):
            raise self.refuse(name, "command name expression")
        arguments: list[CommandArgument] = []
        self.parameter = None
        for item in element.elements[1:]:
            if isinstance(item, A.CommandParameter):
                if item.name == "-" and item.argument is None and not item.colon:
                    continue  # `--`: what follows are values, already parsed as such
                self.parameter = item.name
                value = NO_VALUE if item.argument is None else self.value(item.argument)
                arguments.append(CommandArgument(
                    parameter=item.name, value=value, colon=item.colon,
                    text=self.text[item.start:item.end], start=item.start, end=item.end))
                if item.colon:
                    self.parameter = None
            else:
                value = self.value(item)
                arguments.append(CommandArgument(
                    value=value, text=self.text[item.start:item.end], start=item.start, end=item.end))
                self.parameter = None
        return CommandCall(name.value, arguments, element.start, element.end)

    def value(self, node: A.Node) -> ConstantValue:
        if isinstance(node, A.StringConstant):
            if node.kind == "verbatim":
                raise self.refuse(node, "stop-parsing token --%")
            return node.value
        if isinstance(node, A.Constant):
            return node.value
        if isinstance(node, A.Variable):
            key = node.name.lower()
            if node.scope is None and not node.splatted and key in _CONSTANT_VARIABLES:
                return _CONSTANT_VARIABLES[key]
            raise self.refuse(node, "splatting" if node.splatted else "variable")
        if isinstance(node, A.ArrayLiteral):
            return [self.value(e) for e in node.elements]
        raise self.refuse(node)
