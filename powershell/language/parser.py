"""Recursive-descent parser for PowerShell: text -> ast.ScriptBlock, or a ParseError.

Modelled on the shape of PowerShell's own parser (statement list -> pipeline chain -> pipeline ->
command / expression), so ids and offsets of errors land where PowerShell puts them. Unlike
PowerShell we stop at the first error: a front end only needs one record.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn, ParamSpec, TypeVar

from . import ast as A
from .errors import ParseError
from .tokenizer import COMMAND, EXPRESSION, Lexer, Token, is_ident

KEYWORDS = {
    "if", "for", "foreach", "while", "do", "switch", "function", "filter", "workflow", "try",
    "trap", "throw", "return", "break", "continue", "exit", "param", "data", "class", "enum",
    "using", "begin", "process", "end", "dynamicparam", "configuration", "parallel", "sequence",
}
CONTINUATIONS = {"else", "elseif", "catch", "finally", "while", "until"}
ASSIGN_OPS = {"=", "+=", "-=", "*=", "/=", "%="}
UNARY_OPS = {"-", "+", "!", "-not", "-bnot", "-split", "-join", "++", "--", "-csplit", "-isplit"}
_PREC = {"-and": 1, "-or": 1, "-xor": 1, "-band": 2, "-bor": 2, "-bxor": 2, "+": 4, "-": 4,
         "*": 5, "/": 5, "%": 5, "-f": 6, "..": 7}
for _op in ("eq", "ne", "gt", "ge", "lt", "le", "like", "notlike", "match", "notmatch",
            "contains", "notcontains", "in", "notin", "replace", "split", "join"):
    for _p in ("", "c", "i"):
        _PREC[f"-{_p}{_op}"] = 3
for _op in ("-is", "-isnot", "-as", "-shl", "-shr"):
    _PREC[_op] = 3
STATEMENT_END = {"semi", "newline", "rparen", "rcurly", "eof"}
_QUOTE_KIND = {"'": "single", '"': "double", "@'": "here-single", '@"': "here-double", None: "bare"}
VERBATIM = "--%"

_P = ParamSpec("_P")
_T = TypeVar("_T")


class Parser:
    def __init__(self, text: str, start: int = 0, limit: int | None = None, depth: int = 0):
        self.text = text
        self.lexer = Lexer(text, limit)
        self.pos = start
        self.depth = depth
        self.seen: dict[int, Token] = {}

    # ----- token plumbing -------------------------------------------------------------------------
    def peek(self, mode: str = COMMAND) -> Token:
        return self.lexer.scan(self.pos, mode)

    def next(self, mode: str = COMMAND) -> Token:
        t = self.lexer.scan(self.pos, mode)
        self.pos = t.end
        self.seen[t.start] = t
        return t

    def fail(self, error_id: str, start: int, end: int | None = None, *args: object) -> NoReturn:
        raise ParseError(error_id, self.text, start, end, *args)

    def skip_newlines(self) -> None:
        while (t := self.peek()).kind == "newline":
            self.pos = t.end

    def adjacent(self) -> str:
        return self.text[self.pos] if self.pos < self.lexer.limit else ""

    # ----- statements -----------------------------------------------------------------------------
    def parse_script(self) -> A.ScriptBlock:
        start = self.pos
        statements = self.statement_list()
        t = self.peek()
        if t.kind != "eof":
            self.fail("UnexpectedToken", t.start, t.end, t.text)
        return A.ScriptBlock(start, self.lexer.limit, statements)

    def statement_list(self) -> list[A.Node]:
        statements: list[A.Node] = []
        while True:
            while (t := self.peek()).kind in ("newline", "semi"):
                self.pos = t.end
            if t.kind in ("eof", "rparen", "rcurly"):
                return statements
            before = self.pos
            stmt = self.statement()
            if stmt is None or self.pos == before:
                t = self.peek()
                self.fail("UnexpectedToken", t.start, t.end, t.text)
            statements.append(stmt)
            t = self.peek()
            if t.kind in STATEMENT_END:
                continue
            if t.kind == "amp":
                self.fail("AmpersandNotAllowed", t.start, t.end)
            self.fail("UnexpectedToken", t.start, t.end, t.text)

    def statement(self) -> A.Node | None:
        t = self.peek()
        if t.kind == "generic" and not t.expandable and t.value.lower() in KEYWORDS \
                and t.text.lower() == t.value.lower():
            return self.keyword_statement()
        return self.pipeline_chain()

    def keyword_statement(self) -> A.KeywordStatement:
        kw = self.next()
        blocks: list[A.Node] = []
        while True:
            t = self.peek()
            if t.kind in ("eof", "semi", "rparen", "rcurly"):
                break
            if t.kind == "newline":
                save = self.pos
                self.skip_newlines()
                n = self.peek()
                if blocks and n.kind == "generic" and n.value.lower() in CONTINUATIONS:
                    continue
                self.pos = save
                break
            if t.kind == "lcurly":
                self.next()
                blocks.append(self.block_body(t))
            elif t.kind in ("lparen", "dollarparen", "atparen"):
                self.skip_balanced()
            else:
                self.next()
        return A.KeywordStatement(kw.start, self.pos, kw.value.lower(), self.text[kw.start:self.pos], blocks)

    def skip_balanced(self) -> None:
        """Skip a parenthesised keyword clause (`(... in ...)`, `($a; $b; $c)`) as raw tokens."""
        open_tok = self.next()
        depth = 1
        while depth:
            t = self.next()
            if t.kind == "eof":
                self.fail("MissingEndParenthesisInExpression", t.start)
            if t.kind in ("lparen", "dollarparen", "atparen"):
                depth += 1
            elif t.kind == "rparen":
                depth -= 1
            elif t.kind == "lcurly":
                self.block_body(t)
        del open_tok

    def block_body(self, lcurly: Token) -> A.ScriptBlockExpression:
        body = self.nested(self.statement_list)
        t = self.peek()
        if t.kind != "rcurly":
            self.fail("MissingEndCurlyBrace", lcurly.start, lcurly.end)
        self.next()
        block = A.ScriptBlock(lcurly.end, t.start, body)
        return A.ScriptBlockExpression(lcurly.start, t.end, block, self.text[lcurly.start:t.end])

    def nested(self, fn: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        self.depth += 1
        if self.depth > 200:
            self.fail("ScriptTooComplex", self.pos)
        try:
            return fn(*args, **kwargs)
        finally:
            self.depth -= 1

    # ----- pipelines ------------------------------------------------------------------------------
    def pipeline_chain(self) -> A.Node | None:
        start = self.pos
        expr = self.expression_or_none()
        if expr is not None:
            t = self.peek(EXPRESSION)
            if t.kind == "op" and t.value in ASSIGN_OPS:
                self.next(EXPRESSION)
                self.check_assignable(expr, t.value)
                self.skip_newlines()
                value = self.nested(self.statement)
                if value is None:
                    self.fail("ExpectedValueExpression", t.end, t.end, t.text)
                return A.Assignment(expr.start, value.end, expr, t.value, value)
        first = self.pipeline(expr)
        if first is None:
            self.pos = start
            return None
        left: A.Pipeline | A.PipelineChain = first
        while True:
            t = self.peek()
            if t.kind in ("andand", "oror"):
                self.next()
                self.skip_newlines()
                n = self.peek()
                right = self.pipeline(None)
                if right is None:
                    if n.kind == "eof":
                        self.fail("EmptyPipelineChainElement", t.end, t.end)
                    self.fail("EmptyPipelineChainElement", t.start, n.end)
                left = A.PipelineChain(left.start, right.end, left, t.text, right)
            elif t.kind == "amp":
                self.next()
                n = self.peek()
                if n.kind in ("andand", "oror"):
                    self.fail("BackgroundOperatorInPipelineChain", n.start, n.end)
                if n.kind not in STATEMENT_END:
                    # `a&b`: the SAS-URL trap. Windows PowerShell refuses any `&` that does not end
                    # the pipeline, so a pasted unquoted URL never binds as one argument.
                    self.fail("AmpersandNotAllowed", t.start, t.end)
                left.background = True
                left.end = t.end
                return left
            else:
                return left

    def check_assignable(self, expr: A.Node, op: str) -> None:
        node = expr
        while isinstance(node, A.Convert):
            node = node.child
        ok = isinstance(node, (A.Variable, A.Member, A.Index)) and not getattr(node, "splatted", False)
        if isinstance(node, A.ArrayLiteral) and op == "=":
            ok = all(isinstance(e, (A.Variable, A.Member, A.Index)) for e in node.elements)
        if not ok:
            self.fail("InvalidLeftHandSide", expr.start, expr.end)

    def pipeline(self, expr: A.Node | None) -> A.Pipeline | None:
        elements: list[A.Command | A.CommandExpression] = []
        last_pipe: Token | None = None
        while True:
            if expr is None:
                expr = self.expression_or_none()
            if expr is not None:
                if elements:
                    self.fail("ExpressionsMustBeFirstInPipeline", expr.start, expr.end)
                redirs = self.redirections()
                end = redirs[-1].end if redirs else expr.end
                element: A.Command | A.CommandExpression | None = A.CommandExpression(expr.start, end, expr, redirs)
            else:
                element = self.command()
            if element is not None:
                elements.append(element)
            elif elements or self.peek().kind == "pipe":
                where = last_pipe.end if last_pipe else self.peek().start
                self.fail("EmptyPipeElement", where, where)
            expr = None
            t = self.peek()
            if t.kind == "newline":
                # PowerShell 7: a line that starts with `|` continues the pipeline
                save = self.pos
                self.skip_newlines()
                if elements and self.peek().kind == "pipe":
                    t = self.peek()
                else:
                    self.pos = save
            if t.kind == "pipe":
                self.next()
                self.skip_newlines()
                last_pipe = t
                if self.peek().kind == "eof":
                    self.fail("EmptyPipeElement", t.end, t.end)
                continue
            if t.kind in STATEMENT_END or t.kind in ("andand", "oror", "amp"):
                break
            self.fail("UnexpectedToken", t.start, t.end, t.text)
        if not elements:
            return None
        return A.Pipeline(elements[0].start, elements[-1].end, elements)

    def redirections(self) -> list[A.Node]:
        out: list[A.Node] = []
        while self.peek().kind in ("redirection", "redirect_in"):
            out.append(self.redirection(self.next()))
        return out

    def redirection(self, t: Token) -> A.Node:
        if t.kind == "redirection" and t.merge:
            to = t.merge
            if to != "1" or t.value == to:
                self.fail("RedirectionNotSupported", t.start, t.end, t.text)
            return A.MergingRedirection(t.start, t.end, t.value, to)
        n = self.peek()
        target = None
        if n.kind not in ("comma", "eof"):
            target = self.command_argument(self.next(), name=False, file=True)
        if target is None:
            self.fail("MissingFileSpecification", t.end, t.end)
        if t.kind == "redirect_in":
            self.fail("RedirectionNotSupported", t.start, t.end, t.text)
        return A.FileRedirection(t.start, target.end, t.value, target, t.append)

    def command(self) -> A.Command | None:
        start = self.pos
        first = self.next()
        invocation = None
        t = first
        if first.kind in ("amp", "dot"):
            invocation = "&" if first.kind == "amp" else "."
            t = self.next()
        elements: list[A.Node] = []
        redirs: list[A.Node] = []
        saw_dashdash = False
        naming = True
        while True:
            k = t.kind
            if k in ("pipe", "rcurly", "rparen", "eof", "newline", "semi", "andand", "oror", "amp"):
                self.pos = t.start
                break
            if k == "minusminus" and not naming:
                elements.append(A.StringConstant(t.start, t.end, t.text) if saw_dashdash
                                else A.CommandParameter(t.start, t.end, "-"))
                saw_dashdash = True
            elif k == "comma":
                self.fail("MissingArgument", t.start, t.end)
            elif k == "parameter" and not naming and not saw_dashdash:
                if t.colon and self.peek().kind != "comma":
                    arg = self.command_argument(self.next(), name=False)
                    if arg is None:
                        self.fail("ParameterRequiresArgument", t.end, t.end, t.text)
                    elements.append(A.CommandParameter(t.start, arg.end, t.value, arg, True))
                elif t.colon:
                    elements.append(A.CommandParameter(t.start, t.end, t.value, None, True))
                else:
                    elements.append(A.CommandParameter(t.start, t.end, t.value))
            elif k in ("redirection", "redirect_in") and not naming:
                redirs.append(self.redirection(t))
            else:
                arg = self.command_argument(t, name=naming)
                if arg is None:  # cannot happen for the kinds that reach here; keep the loop safe
                    self.fail("UnexpectedToken", t.start, t.end, t.text)
                elements.append(arg)
                if isinstance(arg, A.StringConstant) and arg.kind == "verbatim":
                    break
            naming = False
            t = self.next()
        if not elements:
            if invocation:
                self.fail("MissingExpression", first.start, first.end, first.text)
            self.pos = start
            return None
        end = max([e.end for e in elements] + [r.end for r in redirs])
        return A.Command(first.start, end, elements, invocation, redirs)

    def command_argument(self, t: Token, name: bool, file: bool = False) -> A.Node | None:
        """One command argument starting at token t; `a,b,c` becomes an ArrayLiteral."""
        items: list[A.Node] = []
        comma: Token | None = None
        while True:
            k = t.kind
            if k in ("pipe", "rcurly", "rparen", "eof", "newline", "semi", "redirection",
                     "redirect_in", "andand", "oror", "amp", "minusminus", "comma"):
                self.pos = t.start
                if comma is None:
                    return None
                self.fail("MissingExpression", comma.end, comma.end, ",")
            if k in ("splat", "variable", "number", "string", "lparen", "dollarparen", "atparen",
                     "atcurly", "lcurly"):
                self.pos = t.start
                primary = self.nested(self.primary, True, t)
                if primary is None:  # cannot happen for these kinds; keep the loop safe
                    self.fail("UnexpectedToken", t.start, t.end, t.text)
                node: A.Node = primary
            elif k == "generic":
                if t.value.lower() == VERBATIM and not name and not file and t.text == VERBATIM:
                    return self.verbatim(t)
                if t.expandable and not name:
                    node = self.expandable(t, "bare")
                else:
                    node = A.StringConstant(t.start, t.end, t.value, "bare")
            else:
                node = A.StringConstant(t.start, t.end, t.text, "bare")
            if name or file:
                return node
            n = self.peek()
            if n.kind != "comma":
                if comma is None:
                    return node
                items.append(node)
                return A.ArrayLiteral(items[0].start, items[-1].end, items)
            items.append(node)
            comma = self.next()
            self.skip_newlines()
            t = self.next()

    def verbatim(self, t: Token) -> A.Node:
        """`--%`: the rest of the line is passed as is (stop-parsing)."""
        i = t.end
        limit = self.lexer.limit
        while i < limit and self.text[i] in " \t":
            i += 1
        j = i
        while j < limit and self.text[j] not in "\r\n|":
            j += 1
        self.pos = j
        return A.StringConstant(t.start, j, self.text[i:j].rstrip(), "verbatim")

    # ----- expressions ----------------------------------------------------------------------------
    def expression_or_none(self) -> A.Node | None:
        return self.nested(self.expression, True)

    def expression(self, allow_comma: bool = True) -> A.Node | None:
        left = self.array_literal() if allow_comma else self.unary()
        if left is None:
            return None
        return self.binary(left, 1, allow_comma)

    def binary(self, left: A.Node, min_prec: int, allow_comma: bool) -> A.Node:
        while True:
            t = self.peek(EXPRESSION)
            op = t.value if t.kind == "op" else (".." if t.kind == "dotdot" else None)
            prec = _PREC.get(op) if op else None
            if op is None or prec is None or prec < min_prec:
                return left
            self.next(EXPRESSION)
            self.skip_newlines()
            right = self.array_literal() if allow_comma else self.unary()
            if right is None:
                self.fail("ExpectedValueExpression", t.end, t.end, t.text)
            while True:
                n = self.peek(EXPRESSION)
                nop = n.value if n.kind == "op" else (".." if n.kind == "dotdot" else None)
                nprec = _PREC.get(nop) if nop else None
                if nprec is None or nprec <= prec:
                    break
                right = self.binary(right, nprec, allow_comma)
            left = A.Binary(left.start, right.end, op, left, right)

    def array_literal(self) -> A.Node | None:
        first = self.unary()
        if first is None:
            return None
        items = [first]
        while (t := self.peek(EXPRESSION)).kind == "comma":
            self.next(EXPRESSION)
            self.skip_newlines()
            item = self.unary()
            if item is None:
                self.fail("MissingExpressionAfterToken", t.end, t.end, ",")
            items.append(item)
        if len(items) == 1:
            return first
        return A.ArrayLiteral(first.start, items[-1].end, items)

    def unary(self) -> A.Node | None:
        t = self.peek(EXPRESSION)
        if (t.kind == "op" and t.value in UNARY_OPS) or t.kind == "comma":
            self.next(EXPRESSION)
            child = self.nested(self.unary)
            if child is None:
                self.fail("MissingExpressionAfterOperator", t.end, t.end, t.text)
            op = "," if t.kind == "comma" else t.value
            if op == "-" and isinstance(child, A.Constant) and child.start == t.end:
                return A.Constant(t.start, child.end, -child.value, child.type_name, t.text + child.text)
            return A.Unary(t.start, child.end, op, child)
        return self.primary(False)

    def primary(self, command_arg: bool, token: Token | None = None) -> A.Node | None:
        """A primary expression and its postfix operators. `token` is the first token when the
        caller already scanned it in command mode (`-5` is a number there, not minus five)."""
        t = token if token is not None else self.peek(EXPRESSION)
        k = t.kind
        node: A.Node
        if k == "number":
            if t.number is None or t.type_name is None:  # the lexer gives every number token both
                self.fail("BadNumericConstant", t.start, t.end, t.text)
            self.pos = t.end
            self.seen[t.start] = t
            node = A.Constant(t.start, t.end, t.number, t.type_name, t.text)
        elif k == "string":
            self.next(EXPRESSION)
            kind = _QUOTE_KIND[t.quote]
            if t.expandable:
                node = self.expandable(t, kind)
            else:
                node = A.StringConstant(t.start, t.end, t.value, kind)
        elif k == "variable":
            self.next(EXPRESSION)
            node = self.variable(t)
        elif k == "splat":
            if not command_arg:
                self.fail("SplattingNotPermitted", t.start, t.end, self.variable(t).name)
            self.next(EXPRESSION)
            return self.variable(t, splatted=True)
        elif k == "lparen":
            node = self.paren()
        elif k in ("dollarparen", "atparen"):
            self.next(EXPRESSION)
            body = self.nested(self.statement_list)
            r = self.peek()
            if r.kind != "rparen":
                self.fail("MissingEndParenthesisInSubexpression", r.start, r.end)
            self.next()
            block = A.ScriptBlock(t.end, r.start, body)
            cls = A.SubExpression if k == "dollarparen" else A.ArrayExpression
            node = cls(t.start, r.end, block)
        elif k == "atcurly":
            node = self.hashtable()
        elif k == "lcurly":
            self.next(EXPRESSION)
            node = self.block_body(t)
        elif k == "lbracket":
            node = self.type_expression()
        else:
            return None
        return self.postfix(node)

    def variable(self, t: Token, splatted: bool = False) -> A.Variable:
        v = t.variable
        if v is None:  # the lexer names every variable and splat token
            self.fail("InvalidVariableReference", t.start, t.end)
        return A.Variable(t.start, t.end, v.name, v.scope, v.braced, splatted)

    def expandable(self, t: Token, kind: str) -> A.ExpandableString:
        parts: list[str | A.Node] = []
        for p in t.parts or ():
            if isinstance(p, str):
                parts.append(p)
            elif p[0] == "var":
                parts.append(self.variable(self.lexer.scan(p[1], EXPRESSION)))
            else:
                sub = Parser(self.text, p[1] + 2, p[2] - 1, self.depth + 1)
                body = sub.nested(sub.statement_list)
                r = sub.peek()
                if r.kind != "eof":
                    sub.fail("UnexpectedToken", r.start, r.end, r.text)
                parts.append(A.SubExpression(p[1], p[2], A.ScriptBlock(p[1] + 2, p[2] - 1, body)))
        return A.ExpandableString(t.start, t.end, t.value, kind, parts)

    def paren(self) -> A.Paren:
        lp = self.next(EXPRESSION)
        self.skip_newlines()
        inner = self.nested(self.statement)
        if inner is None:
            self.fail("ExpectedExpression", lp.end, lp.end)
        self.skip_newlines()
        r = self.peek()
        if r.kind != "rparen":
            self.fail("MissingEndParenthesisInExpression", inner.end, inner.end)
        self.next()
        return A.Paren(lp.start, r.end, inner)

    def hashtable(self) -> A.Hashtable:
        at = self.next(EXPRESSION)
        pairs: list[tuple[A.Node, A.Node]] = []
        while True:
            while (t := self.peek(EXPRESSION)).kind in ("newline", "semi"):
                self.pos = t.end
            if t.kind == "rcurly":
                self.next()
                return A.Hashtable(at.start, t.end, pairs)
            if t.kind in ("ident", "generic"):
                self.next(EXPRESSION)
                key: A.Node | None = A.StringConstant(t.start, t.end, t.value, "bare")
            else:
                key = self.nested(self.unary)
            if key is None:
                if t.kind == "eof":
                    self.fail("MissingEndCurlyBrace", at.end, at.end)
                self.fail("MissingEqualsInHashLiteral", t.start, t.end)
            eq = self.peek(EXPRESSION)
            if not (eq.kind == "op" and eq.value == "="):
                if eq.kind == "eof":
                    self.fail("MissingEndCurlyBrace", at.end, at.end)
                self.fail("MissingEqualsInHashLiteral", eq.start, eq.end)
            self.next(EXPRESSION)
            self.skip_newlines()
            value = self.nested(self.statement)
            if value is None:
                self.fail("MissingStatementInHashLiteral", eq.end, eq.end)
            pairs.append((key, value))
            n = self.peek()
            if n.kind in ("newline", "semi", "rcurly"):
                continue
            self.fail("MissingEndCurlyBrace", at.end, at.end)

    def type_name(self, lb: Token) -> tuple[str, int]:
        """Read a type name after `[` up to its `]` (generics and arrays nest); return (name, end)."""
        i = lb.end
        limit = self.lexer.limit
        depth = 0
        j = i
        while j < limit:
            c = self.text[j]
            if c == "[":
                depth += 1
            elif c == "]":
                if depth == 0:
                    break
                depth -= 1
            elif c in "\r\n(){};|&'\"$":
                break
            j += 1
        name = self.text[i:j].strip()
        if not name:
            self.fail("MissingTypename", i, i)
        if j >= limit or self.text[j] != "]":
            self.fail("EndSquareBracketExpectedAtEndOfType", j, j)
        return name, j + 1

    def type_expression(self) -> A.Node:
        lb = self.next(EXPRESSION)
        name, end = self.type_name(lb)
        self.pos = end
        if self.text.startswith("::", end):
            return A.TypeLiteral(lb.start, end, name)
        n = self.peek(EXPRESSION)
        starts_operand = n.kind in ("number", "string", "variable", "lparen", "dollarparen",
                                    "atparen", "atcurly", "lcurly", "lbracket") or \
            (n.kind == "op" and n.value in UNARY_OPS)
        if starts_operand:
            child = self.nested(self.unary)
            if child is not None:
                return A.Convert(lb.start, child.end, name, child)
        return A.TypeLiteral(lb.start, end, name)

    def postfix(self, node: A.Node) -> A.Node:
        """Member access, method calls and indexing, which must touch the expression."""
        while True:
            c = self.adjacent()
            nxt = self.text[self.pos + 1] if self.pos + 1 < self.lexer.limit else ""
            if c == "." and nxt != ".":
                self.pos += 1
                node = self.member(node, static=False)
            elif c == ":" and nxt == ":":
                self.pos += 2
                node = self.member(node, static=True)
            elif c == "[" and not isinstance(node, A.TypeLiteral):
                lb = self.next(EXPRESSION)
                self.skip_newlines()
                index = self.nested(self.expression, True)
                if index is None:
                    self.fail("MissingArrayIndexExpression", lb.end, lb.end)
                self.skip_newlines()
                r = self.peek(EXPRESSION)
                if r.kind != "rbracket":
                    self.fail("MissingEndSquareBracket", r.start, r.end)
                self.next(EXPRESSION)
                node = A.Index(node.start, r.end, node, index)
            else:
                return node

    def member(self, target: A.Node, static: bool) -> A.Node:
        i = self.pos
        limit = self.lexer.limit
        j = i
        while j < limit and is_ident(self.text[j]):
            j += 1
        if j > i:
            name: A.Node = A.StringConstant(i, j, self.text[i:j], "bare")
            self.pos = j
        else:
            t = self.peek(EXPRESSION)
            if t.start != i or t.kind not in ("string", "variable", "lparen", "dollarparen"):
                self.fail("MissingPropertyName", i, i)
            primary = self.nested(self.primary, False)
            if primary is None:  # cannot happen for these kinds
                self.fail("MissingPropertyName", i, i)
            name = primary
        if self.adjacent() == "(":
            self.next(EXPRESSION)
            args: list[A.Node] = []
            self.skip_newlines()
            if self.peek(EXPRESSION).kind != "rparen":
                while True:
                    self.skip_newlines()
                    arg = self.nested(self.expression, False)
                    if arg is None:
                        t = self.peek(EXPRESSION)
                        self.fail("MissingEndParenthesisInMethodCall", t.start, t.end)
                    args.append(arg)
                    self.skip_newlines()
                    t = self.peek(EXPRESSION)
                    if t.kind == "comma":
                        self.next(EXPRESSION)
                        continue
                    break
            r = self.peek(EXPRESSION)
            if r.kind != "rparen":
                self.fail("MissingEndParenthesisInMethodCall", r.start, r.end)
            self.next(EXPRESSION)
            return A.InvokeMember(target.start, r.end, target, name, args, static)
        return A.Member(target.start, name.end, target, name, static)


def parse(text: str) -> A.ScriptBlock:
    """Parse PowerShell text into a ScriptBlock AST; raise ParseError (only) on bad input."""
    parser = Parser(text)
    try:
        return parser.parse_script()
    except RecursionError:
        raise ParseError("ScriptTooComplex", text, parser.pos) from None


def tokenize(text: str) -> list[Token]:
    """The tokens of `text` as the parser reads them (command vs expression mode resolved)."""
    parser = Parser(text)
    try:
        parser.parse_script()
    except RecursionError:
        raise ParseError("ScriptTooComplex", text, parser.pos) from None
    return [parser.seen[k] for k in sorted(parser.seen) if parser.seen[k].kind != "eof"]
