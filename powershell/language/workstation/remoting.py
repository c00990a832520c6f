"""What Invoke-Command sends for a script block, as PowerShell decides it.

A block that is one pipeline of commands whose arguments are constants, `$using:` variables,
`$true/$false/$null` and arrays/hashtables of those becomes a command-form pipeline (AddCommand /
AddParameter / AddArgument, with `$using:x` replaced by the local value of x): a NoLanguage endpoint
such as the PEP runs that. Anything else is sent as script text (AddScript), which a NoLanguage
endpoint refuses, exactly as with real PowerShell.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from powershell.invocation import NO_VALUE, CommandArgument, CommandCall
from powershell.language import ast


class NotConvertible(Exception):
    pass


@dataclass
class RemotePlan:
    calls: list[CommandCall] | None = None  # command form
    script: str | None = None  # script form
    using: dict[str, Any] = field(default_factory=dict)  # $using: names -> local values (script form)


def plan(block_node: ast.ScriptBlockExpression, block_text: str, source: str,
         lookup: Callable[[str], Any]) -> RemotePlan:
    """`lookup(name)` gives the local value of `$using:name`; it raises when the variable is unset."""
    try:
        return RemotePlan(calls=_to_calls(block_node.body, source, lookup))
    except NotConvertible:
        using: dict[str, Any] = {}
        for node in block_node.body.walk() if block_node.body is not None else ():
            if isinstance(node, ast.Variable) and node.scope == "using":
                using[node.name] = lookup(node.name)
        return RemotePlan(script=block_text, using=using)


def _to_calls(body: ast.ScriptBlock | None, source: str, lookup: Callable[[str], Any]) -> list[CommandCall]:
    if body is None or len(body.statements) != 1:
        raise NotConvertible
    pipeline = body.statements[0]
    if not isinstance(pipeline, ast.Pipeline) or pipeline.background or not pipeline.elements:
        raise NotConvertible
    calls: list[CommandCall] = []
    for element in pipeline.elements:
        if not isinstance(element, ast.Command) or element.invocation or element.redirections:
            raise NotConvertible
        name = element.name
        if not isinstance(name, ast.StringConstant) or name.kind != "bare":
            raise NotConvertible
        args: list[CommandArgument] = []
        for node in element.elements[1:]:
            text = source[node.start:node.end]
            if isinstance(node, ast.CommandParameter):
                value = NO_VALUE if node.argument is None else _constant(node.argument, lookup)
                args.append(CommandArgument(parameter=node.name, value=value, colon=node.colon, text=text))
            else:
                args.append(CommandArgument(value=_constant(node, lookup), text=text))
        calls.append(CommandCall(name.value, args))
    return calls


def _constant(node: ast.Node, lookup: Callable[[str], Any]) -> Any:
    if isinstance(node, ast.StringConstant):
        return node.value
    if isinstance(node, ast.ExpandableString) and not any(isinstance(p, ast.Node) for p in node.parts):
        return node.value
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Unary) and node.operator == "-" and isinstance(node.child, ast.Constant):
        return -node.child.value
    if isinstance(node, ast.Variable) and not node.splatted:
        if node.scope is None and node.name.lower() in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[node.name.lower()]
        if node.scope == "using":
            return lookup(node.name)
        raise NotConvertible
    if isinstance(node, ast.ArrayLiteral):
        return [_constant(e, lookup) for e in node.elements]
    if isinstance(node, ast.Hashtable):
        return {_constant(k, lookup): _statement_constant(v, lookup) for k, v in node.pairs}
    raise NotConvertible


def _statement_constant(node: ast.Node, lookup: Callable[[str], Any]) -> Any:
    # hashtable values are statements: a one-element pipeline holding an expression
    if isinstance(node, ast.Pipeline) and len(node.elements) == 1 and isinstance(node.elements[0], ast.CommandExpression):
        return _constant(node.elements[0].expression, lookup)
    if isinstance(node, ast.CommandExpression):
        return _constant(node.expression, lookup)
    return _constant(node, lookup)
