"""What the workstation subset refuses, checked on the whole script before any of it runs, so a
script never half-runs and then stops on a construct we do not evaluate.

Script block bodies are not checked: they are values that Invoke-Command sends to the remote
endpoint, whose own language mode decides.
"""
from __future__ import annotations

from powershell.language import ast
from powershell.language.errors import ParseError
from powershell.language.parser import parse
from powershell.objects import ErrorCategory, ErrorRecord, SourcePosition, error_record, with_position

ERROR_ID = "NotSupportedByWorkstationSubset"

COMPARISONS = {"eq", "ne", "gt", "ge", "lt", "le", "like", "notlike", "match", "notmatch"}
BINARY = {"-and", "-or", "-xor", "+", "-", "*", "/", "%"} | {
    f"-{p}{op}" for op in COMPARISONS for p in ("", "i", "c")}
UNARY = {"-", "+", "!", "-not", ","}
ASSIGNMENT = {"=", "+=", "-="}
CASTS = {"datetime", "system.datetime", "string", "system.string", "int", "int32", "system.int32", "long",
         "int64", "system.int64", "double", "system.double", "bool", "system.boolean", "array", "object[]",
         "string[]", "system.string[]", "hashtable", "system.collections.hashtable", "timespan", "system.timespan"}


def refusal(what: str, node: ast.Node, text: str) -> ErrorRecord:
    record = error_record(
        f"The {what} is not supported by pep run's workstation subset.", ERROR_ID, ErrorCategory.ParserError,
        exception_type="System.Management.Automation.ParseException", target=what)
    return with_position(record, SourcePosition(text, node.start, node.end))


def check(script: ast.ScriptBlock, text: str) -> ErrorRecord | None:
    """The first construct the subset does not support, as an error record; None when all is fine."""
    for statement in script.statements:
        found = _check(statement, text)
        if found is not None:
            return found
    return None


def _check(node: ast.Node, text: str) -> ErrorRecord | None:
    what = _unsupported(node)
    if what:
        return refusal(what, node, text)
    if isinstance(node, ast.ScriptBlockExpression):
        return None  # sent to the remote end as is
    if isinstance(node, ast.KeywordStatement) and node.keyword.lower() == "exit":
        found = _check_exit_value(node, text)
        if found is not None:
            return found
    for child in node.children():
        found = _check(child, text)
        if found is not None:
            return found
    return None


def _check_exit_value(node: ast.KeywordStatement, text: str) -> ErrorRecord | None:
    """`exit <value>`: the parser keeps the value as text and the evaluator parses and evaluates it,
    so it is checked like any other statement. Parsed in place (what comes before blanked out) so
    a refusal points into the script's own text."""
    start = node.start + len("exit")
    try:
        value = parse(" " * start + text[start:node.end])
    except ParseError:
        return None  # a value that does not parse exits 0 (the evaluator's rule), nothing runs
    return check(value, text)


def _unsupported(node: ast.Node) -> str | None:
    if isinstance(node, ast.KeywordStatement):
        if node.keyword.lower() == "exit":
            return None
        return f"'{node.keyword.lower()}' statement"
    if isinstance(node, ast.PipelineChain):
        return f"'{node.operator}' operator"
    if isinstance(node, ast.Pipeline) and node.background:
        return "background operator '&'"
    if isinstance(node, ast.Command):
        if node.invocation:
            return f"'{node.invocation}' invocation operator"
        if node.redirections:
            return "redirection"
        if not isinstance(node.name, ast.StringConstant):
            return "command name given as an expression"
    if isinstance(node, ast.CommandExpression) and node.redirections:
        return "redirection"
    if isinstance(node, (ast.FileRedirection, ast.MergingRedirection)):
        return "redirection"
    if isinstance(node, ast.Binary) and node.operator.lower() not in BINARY:
        return f"'{node.operator}' operator"
    if isinstance(node, ast.Unary) and node.operator.lower() not in UNARY:
        return f"'{node.operator}' operator"
    if isinstance(node, ast.Assignment):
        if node.operator not in ASSIGNMENT:
            return f"'{node.operator}' operator"
        if not isinstance(node.target, ast.Variable) or node.target.scope not in (None, "script", "global", "local"):
            return "assignment to anything but a variable"
    if isinstance(node, (ast.Member, ast.InvokeMember)) and not isinstance(node.member, ast.StringConstant):
        return "member name given as an expression"
    if isinstance(node, ast.Convert) and node.type_name.lower() not in CASTS:
        return f"[{node.type_name}] cast"
    if isinstance(node, ast.TypeLiteral) and node.type_name.lower() not in ("datetime", "system.datetime"):
        return f"[{node.type_name}] type"
    if isinstance(node, ast.Variable) and node.scope not in (None, "using", "env", "script", "global", "local"):
        return f"'${node.scope}:' variable scope"
    return None
