"""The evaluator of the workstation subset: walks the parser's AST, keeps variables in the
runspace, runs pipelines of workstation cmdlets through the runspace's binder and runner, and
writes every statement's output to the sink.

Errors follow PowerShell: a runtime error ends its statement (the record is written) and the script
goes on; parse errors and constructs outside the subset stop the script before anything runs.
"""
from __future__ import annotations

import fnmatch
import os
import re
import threading
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, NoReturn, Protocol

from powershell.invocation import NO_VALUE, CommandArgument, CommandCall
from powershell.language import ast
from powershell.language.workstation import dates, members
from powershell.language.workstation.values import ScriptBlockValue, ScriptError, TypeValue, collapse, runtime_error, to_text, type_name
from powershell.objects import ErrorCategory
from powershell.pipeline import CollectingSink, HostUI, InvocationResult, PipelineState, PipelineStoppedError, StreamSink

_OPERATOR_METHODS = {"+": "op_Addition", "-": "op_Subtraction", "*": "op_Multiply", "/": "op_Division",
                     "%": "op_Modulus"}
USING_OUTSIDE = (
    "A Using variable cannot be retrieved. A Using variable can be used only with Invoke-Command, Start-Job, or "
    "InlineScript in the script workflow. When it is used with Invoke-Command, the Using variable is valid only if "
    "the script block is invoked on a remote computer.")


class WorkstationRunspace(Protocol):
    """What the evaluator uses of the runspace (session.runspace.Runspace, a floor above): the
    script's variables and the runner of a pipeline of commands."""

    variables: dict[str, Any]

    def _run(self, calls: list[CommandCall], sink: StreamSink, stop_event: threading.Event | None,
             host: HostUI | None, text: str | None, input: list[Any] | None) -> InvocationResult: ...


class ExitScript(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def truthy(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        if len(value) == 1:
            return truthy(value[0])
        return len(value) > 0
    if isinstance(value, str):
        return len(value) > 0
    if value is None:
        return False
    if isinstance(value, (bool, int, float, Decimal)):
        return bool(value)
    return True


class Evaluator:
    def __init__(self, runspace: WorkstationRunspace, text: str, sink: StreamSink, stop_event: threading.Event,
                 host: HostUI | None) -> None:
        self.runspace = runspace
        self.text = text
        self.sink = sink
        self.stop_event = stop_event
        self.host = host

    def _not_supported(self, what: str, node: ast.Node) -> ScriptError:
        """A construct the subset check refuses before a script runs, met anyway."""
        return runtime_error(f"The {what} is not supported by pep run's workstation subset.",
                             "NotSupportedByWorkstationSubset", node, self.text)

    # ----- statements ----------------------------------------------------------------------------
    def statement(self, node: ast.Node, out: StreamSink) -> None:
        if self.stop_event.is_set():
            raise PipelineStoppedError()
        if isinstance(node, ast.Assignment):
            self.assign(node)
        elif isinstance(node, ast.Pipeline):
            self.pipeline(node, out)
        elif isinstance(node, ast.KeywordStatement) and node.keyword.lower() == "exit":
            raise ExitScript(self._exit_code(node))
        elif isinstance(node, ast.CommandExpression):
            self.emit(self.expr(node.expression), out)
        else:  # the subset check refuses everything else before the script runs
            raise self._not_supported(f"{type(node).__name__} statement", node)

    def _exit_code(self, node: ast.KeywordStatement) -> int:
        rest = node.text.strip()[4:].strip()
        if not rest:
            return 0
        try:
            from powershell.language.parser import parse

            value = self.statement_value(parse(rest).statements[0])
            return int(value or 0)
        except Exception:  # `exit <something odd>`: PowerShell exits 0 when the value is not a number
            return 0

    def emit(self, value: Any, out: StreamSink) -> None:
        if value is None:
            return
        if isinstance(value, (list, tuple)):
            for item in value:
                out.output(item)
        else:
            out.output(value)

    def statement_value(self, node: ast.Node) -> Any:
        """The value a statement yields when assigned or parenthesised."""
        if isinstance(node, ast.Pipeline) and len(node.elements) == 1 and isinstance(
                node.elements[0], ast.CommandExpression) and not node.elements[0].redirections:
            return self.expr(node.elements[0].expression)
        if isinstance(node, ast.CommandExpression):
            return self.expr(node.expression)
        if isinstance(node, ast.Assignment):
            return self.assign(node)
        capture = CollectingSink(self.sink)
        self.statement(node, capture)
        return collapse(capture.outputs)

    def statements_output(self, body: ast.ScriptBlock | None) -> list[Any]:
        capture = CollectingSink(self.sink)
        for statement in body.statements if body is not None else ():
            self.statement(statement, capture)
        return capture.outputs

    def assign(self, node: ast.Assignment) -> Any:
        target = node.target
        if not isinstance(target, ast.Variable):
            raise self._not_supported("assignment to anything but a variable", target)
        value = self.statement_value(node.value)
        name = target.name.lower()
        if node.operator != "=":
            current = self.runspace.variables.get(name)
            value = self.arith("+" if node.operator == "+=" else "-", current, value, node)
        if name in ("true", "false", "null"):
            raise runtime_error(f"Cannot overwrite variable {target.name} because it is read-only or constant.",
                                "VariableNotWritable", target, self.text, category=ErrorCategory.WriteError,
                                exception_type="System.Management.Automation.SessionStateUnauthorizedAccessException",
                                target=target.name)
        self.runspace.variables[name] = value
        return value

    # ----- pipelines --------------------------------------------------------------------------------
    def pipeline(self, node: ast.Pipeline, out: StreamSink) -> None:
        elements = list(node.elements)
        data = None
        if isinstance(elements[0], ast.CommandExpression):
            value = self.expr(elements[0].expression)
            if len(elements) == 1:
                self.emit(value, out)
                return
            data = list(value) if isinstance(value, (list, tuple)) else ([] if value is None else [value])
            elements = elements[1:]
        calls: list[CommandCall] = []
        for element in elements:
            if not isinstance(element, ast.Command):  # the parser refuses this already
                raise runtime_error("Expressions are only allowed as the first element of a pipeline.",
                                    "ExpressionsMustBeFirstInPipeline", element, self.text)
            calls.append(self.command_call(element))
        result = self.runspace._run(calls, out, self.stop_event, self.host, self.text, data)
        if result.state == PipelineState.STOPPED:
            raise PipelineStoppedError()

    def command_call(self, node: ast.Command) -> CommandCall:
        name = node.name
        if not isinstance(name, ast.StringConstant):
            raise self._not_supported("command name given as an expression", name)
        args: list[CommandArgument] = []
        for el in node.elements[1:]:
            src = self.text[el.start:el.end]
            if isinstance(el, ast.CommandParameter):
                value = NO_VALUE if el.argument is None else self.expr(el.argument)
                args.append(CommandArgument(parameter=el.name, value=value, colon=el.colon, text=src,
                                            start=el.start, end=el.end))
            elif isinstance(el, ast.Variable) and el.splatted:
                args.extend(self._splat(el, src))
            else:
                args.append(CommandArgument(value=self.argument(el), text=src, start=el.start, end=el.end))
        # the element's extent, as the PEP's parser gives it: errors the command writes point at all of it
        return CommandCall(name.value, args, start=node.start, end=node.end)

    def argument(self, node: ast.Node) -> Any:
        if isinstance(node, ast.StringConstant):
            return node.value
        return self.expr(node)

    def _splat(self, node: ast.Variable, src: str) -> list[CommandArgument]:
        value = self.variable(ast.Variable(node.start, node.end, name=node.name, scope=node.scope))
        if isinstance(value, dict):
            return [CommandArgument(parameter=str(k), value=v, colon=True, text=src, start=node.start, end=node.end)
                    for k, v in value.items()]
        if isinstance(value, (list, tuple)):
            return [CommandArgument(value=v, text=src, start=node.start, end=node.end) for v in value]
        if value is None:
            return []
        return [CommandArgument(value=value, text=src, start=node.start, end=node.end)]

    # ----- expressions ---------------------------------------------------------------------------
    def expr(self, node: ast.Node) -> Any:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise self._not_supported(f"{type(node).__name__} expression", node)
        return method(node)

    def _StringConstant(self, node: ast.StringConstant) -> Any:
        return node.value

    def _ExpandableString(self, node: ast.ExpandableString) -> Any:
        if not node.parts:
            return node.value
        return "".join(p if isinstance(p, str) else to_text(self.expr(p)) for p in node.parts)

    def _Constant(self, node: ast.Constant) -> Any:
        return float(node.value) if isinstance(node.value, Decimal) else node.value

    def _Variable(self, node: ast.Variable) -> Any:
        return self.variable(node)

    def variable(self, node: ast.Variable) -> Any:
        name = node.name.lower()
        if node.scope == "using":
            raise runtime_error(USING_OUTSIDE, "UsingWithoutInvokeCommand", node, self.text)
        if node.scope == "env":
            return os.environ.get(node.name)
        if name == "true":
            return True
        if name == "false":
            return False
        if name == "null":
            return None
        return self.runspace.variables.get(name)

    def _ArrayLiteral(self, node: ast.ArrayLiteral) -> Any:
        return [self.expr(e) for e in node.elements]

    def _ArrayExpression(self, node: ast.ArrayExpression) -> Any:
        return list(self.statements_output(node.body))

    def _SubExpression(self, node: ast.SubExpression) -> Any:
        return collapse(self.statements_output(node.body))

    def _Paren(self, node: ast.Paren) -> Any:
        return self.statement_value(node.pipeline)

    def _Hashtable(self, node: ast.Hashtable) -> Any:
        result: dict[Any, Any] = {}
        for key, value in node.pairs:
            k = self.argument(key) if isinstance(key, ast.StringConstant) else self.expr(key)
            result[k] = self.statement_value(value)
        return result

    def _ScriptBlockExpression(self, node: ast.ScriptBlockExpression) -> Any:
        return ScriptBlockValue(node, self.text)

    def _TypeLiteral(self, node: ast.TypeLiteral) -> Any:
        return TypeValue("System.DateTime")

    def _Convert(self, node: ast.Convert) -> Any:
        value = self.expr(node.child)
        try:
            return convert(node.type_name.lower(), value)
        except (ValueError, TypeError, OverflowError) as e:
            target = _CAST_NAMES.get(node.type_name.lower(), node.type_name)
            detail = f' Error: "{e}"' if str(e) else ""
            raise runtime_error(f'Cannot convert value "{to_text(value)}" to type "{target}".{detail}',
                                "InvalidCastParseTargetInvocation", node, self.text,
                                category=ErrorCategory.InvalidArgument, target=to_text(value)) from None

    def _member_name(self, node: ast.Member | ast.InvokeMember) -> str:
        if not isinstance(node.member, ast.StringConstant):
            raise self._not_supported("member name given as an expression", node)
        return node.member.value

    def _Member(self, node: ast.Member) -> Any:
        name = self._member_name(node)
        if node.static:
            target = self.expr(node.target)
            try:
                return members.static_member(target, name)
            except members.NoSuchMember:
                return None
        return members.get_member(self.expr(node.target), name)

    def _InvokeMember(self, node: ast.InvokeMember) -> Any:
        name = self._member_name(node)
        target = self.expr(node.target)
        args = [self.expr(a) for a in node.arguments]
        if target is None and not node.static:
            raise runtime_error("You cannot call a method on a null-valued expression.", "InvokeMethodOnNull",
                                node, self.text)
        try:
            if node.static:
                return members.static_method(target, name, args)
            return members.call_method(target, name, args)
        except members.NoSuchMember:
            shown = "System.DateTime" if isinstance(target, TypeValue) else type_name(target)
            raise runtime_error(f"Method invocation failed because [{shown}] does not contain a method named "
                                f"'{name}'.", "MethodNotFound", node, self.text) from None
        except (ValueError, TypeError, IndexError, OverflowError) as e:
            raise runtime_error(f'Exception calling "{name}" with "{len(args)}" argument(s): "{e}"',
                                "MethodInvocationException", node, self.text,
                                category=ErrorCategory.NotSpecified,
                                exception_type="System.Management.Automation.MethodInvocationException") from None

    def _Index(self, node: ast.Index) -> Any:
        target = self.expr(node.target)
        index = self.expr(node.index)
        if target is None:
            raise runtime_error("Cannot index into a null array.", "NullArray", node, self.text)
        if isinstance(target, dict):
            return members.get_member(target, to_text(index)) if not isinstance(index, (list, tuple)) else [
                members.get_member(target, to_text(i)) for i in index]
        if isinstance(target, (list, tuple, str)):
            if isinstance(index, (list, tuple)):
                return [self._item(target, i) for i in index]
            return self._item(target, index)
        return self._item([target], index)

    @staticmethod
    def _item(seq: Sequence[Any], index: Any) -> Any:
        try:
            return seq[int(index)]
        except (IndexError, ValueError, TypeError):
            return None

    def _Unary(self, node: ast.Unary) -> Any:
        op = node.operator.lower()
        if op == ",":
            return [self.expr(node.child)]
        value = self.expr(node.child)
        if op in ("!", "-not"):
            return not truthy(value)
        number = self.to_number(value, node)
        return -number if op == "-" else number

    def _Binary(self, node: ast.Binary) -> Any:
        op = node.operator.lower()
        if op == "-and":
            return truthy(self.expr(node.left)) and truthy(self.expr(node.right))
        if op == "-or":
            return truthy(self.expr(node.left)) or truthy(self.expr(node.right))
        left, right = self.expr(node.left), self.expr(node.right)
        if op == "-xor":
            return truthy(left) != truthy(right)
        if op in ("+", "-", "*", "/", "%"):
            return self.arith(op, left, right, node)
        return self.compare(op, left, right, node)

    # ----- operators -------------------------------------------------------------------------------
    def to_number(self, value: Any, node: ast.Node) -> int | float:
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, (int, float)):
            return value
        if value is None:
            return 0
        if isinstance(value, str):
            text = value.strip()
            try:
                return int(text, 0) if re.fullmatch(r"[+-]?(0x[0-9a-fA-F]+|\d+)", text) else float(text)
            except ValueError:
                pass
        raise runtime_error(f'Cannot convert value "{to_text(value)}" to type "System.Int32". Error: "Input string '
                            'was not in a correct format."', "InvalidCastFromStringToInteger", node, self.text,
                            category=ErrorCategory.InvalidArgument)

    def arith(self, op: str, left: Any, right: Any, node: ast.Node) -> Any:
        if op == "+":
            if left is None:
                return right
            if isinstance(left, str):
                return left + to_text(right)
            if isinstance(left, (list, tuple)):
                return list(left) + (list(right) if isinstance(right, (list, tuple)) else [right])
            if isinstance(left, dict) and isinstance(right, dict):
                return {**left, **right}
            if isinstance(left, datetime) and isinstance(right, timedelta):
                return left + right
        if op == "-" and isinstance(left, datetime):
            if isinstance(right, timedelta):
                return left - right
            if isinstance(right, datetime):
                return dates.comparable(left) - dates.comparable(right)
        if op == "*" and isinstance(left, (str, list, tuple)):
            return left * int(self.to_number(right, node))
        if isinstance(left, timedelta) or isinstance(right, timedelta) or isinstance(left, (datetime, dict)):
            self._op_error(op, left, node)
        a, b = self.to_number(left, node), self.to_number(right, node)
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if b == 0:
                raise runtime_error("Attempted to divide by zero.", "RuntimeException", node, self.text,
                                category=ErrorCategory.NotSpecified)
        if op == "/":
            q = a / b
            return int(q) if isinstance(a, int) and isinstance(b, int) and a % b == 0 else q
        return a % b

    def _op_error(self, op: str, left: Any, node: ast.Node) -> NoReturn:
        raise runtime_error(f"Method invocation failed because [{type_name(left)}] does not contain a method named "
                            f"'{_OPERATOR_METHODS[op]}'.", "MethodNotFound", node, self.text)

    def compare(self, op: str, left: Any, right: Any, node: ast.Node) -> Any:
        base = op.lstrip("-")
        case = False
        if base[:1] in ("i", "c") and base[1:] in _COMPARE_BASES:
            case = base[0] == "c"
            base = base[1:]
        if isinstance(left, (list, tuple)):
            return [item for item in left if self._compare_one(base, item, right, case, node)]
        return self._compare_one(base, left, right, case, node)

    def _compare_one(self, base: str, left: Any, right: Any, case: bool, node: ast.Node) -> bool:
        if base in ("like", "notlike"):
            pattern = to_text(right)
            text = to_text(left)
            if not case:
                pattern, text = pattern.lower(), text.lower()
            hit = fnmatch.fnmatchcase(text, pattern)
            return hit if base == "like" else not hit
        if base in ("match", "notmatch"):
            hit = re.search(to_text(right), to_text(left), 0 if case else re.IGNORECASE) is not None
            return hit if base == "match" else not hit
        a, b = self._coerce_pair(left, right, case, node)
        if base == "eq":
            return bool(a == b)
        if base == "ne":
            return bool(a != b)
        if a is None or b is None:
            a = "" if a is None else a
            b = "" if b is None else b
            if type(a) is not type(b):
                a, b = to_text(a), to_text(b)
        try:
            return bool({"gt": a > b, "ge": a >= b, "lt": a < b, "le": a <= b}[base])
        except TypeError:
                raise runtime_error(f'Cannot compare "{to_text(left)}" to "{to_text(right)}" because the objects are not '
                                "the same type or the object \"" + to_text(left) + '" does not implement "IComparable".',
                                "ComparisonFailure", node, self.text, category=ErrorCategory.InvalidOperation) from None

    def _coerce_pair(self, left: Any, right: Any, case: bool, node: ast.Node) -> tuple[Any, Any]:
        """Right converted to the left operand's type, as PowerShell compares."""
        if left is None or right is None:
            return left, right
        if isinstance(left, str):
            b = to_text(right)
            return (left, b) if case else (left.lower(), b.lower())
        if isinstance(left, bool):
            return left, truthy(right)
        if isinstance(left, (int, float)):
            return left, self.to_number(right, node)
        if isinstance(left, datetime):
            if isinstance(right, str):
                right = convert("datetime", right)
            if isinstance(right, datetime):
                return dates.comparable(left), dates.comparable(right)
        return left, right


_COMPARE_BASES = {"eq", "ne", "gt", "ge", "lt", "le", "like", "notlike", "match", "notmatch"}
_CAST_NAMES = {
    "datetime": "System.DateTime", "system.datetime": "System.DateTime", "string": "System.String",
    "system.string": "System.String", "int": "System.Int32", "int32": "System.Int32", "system.int32": "System.Int32",
    "long": "System.Int64", "int64": "System.Int64", "system.int64": "System.Int64", "double": "System.Double",
    "system.double": "System.Double", "bool": "System.Boolean", "system.boolean": "System.Boolean",
    "timespan": "System.TimeSpan", "system.timespan": "System.TimeSpan", "hashtable": "System.Collections.Hashtable",
    "system.collections.hashtable": "System.Collections.Hashtable",
}


def convert(type_name_lower: str, value: Any) -> Any:
    """A [type] cast of the subset."""
    from powershell.binding.datetimes import datetime_from_ticks, parse_datetime, parse_timespan

    t = type_name_lower.removeprefix("system.")
    if t == "datetime":
        if value is None:
            return datetime(1, 1, 1)  # [datetime]$null is DateTime.MinValue
        if isinstance(value, datetime):
            return value
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day)
        if isinstance(value, (int,)) and not isinstance(value, bool):
            return datetime_from_ticks(value)
        return parse_datetime(to_text(value))
    if t == "string":
        return to_text(value)
    if t in ("string[]",):
        return [to_text(v) for v in (value if isinstance(value, (list, tuple)) else [value])]
    if t in ("int", "int32", "long", "int64"):
        if isinstance(value, str):
            value = float(value.strip()) if value.strip() else 0
        return int(round(value or 0))
    if t == "double":
        return float(value or 0)
    if t == "boolean" or t == "bool":
        return truthy(value)
    if t in ("array", "object[]"):
        return None if value is None else list(value) if isinstance(value, (list, tuple)) else [value]
    if t in ("hashtable", "collections.hashtable"):
        if isinstance(value, dict):
            return value
        raise TypeError("")
    if t == "timespan":
        return value if isinstance(value, timedelta) else parse_timespan(to_text(value))
    raise TypeError("")
