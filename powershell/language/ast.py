"""The syntax tree: one dataclass per node kind, each with the source extent [start, end).

Shapes follow PowerShell's System.Management.Automation.Language ASTs closely enough that an
evaluator (the workstation language mode) and a validator (NoLanguage) can walk them; names are
ours. `children()` gives the direct sub-nodes so validators can walk any tree generically.
A sub-node field without a default is always filled by the parser; one that may be absent is
typed `Node | None`.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from decimal import Decimal

# The value of a number literal: PowerShell's Int32/Int64/UInt*/BigInteger are int, Double is
# float, Decimal is Decimal.
NumberValue = int | float | Decimal


@dataclass
class Node:
    start: int
    end: int

    def children(self) -> Iterator[Node]:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Node):
                yield value
            elif isinstance(value, (list, tuple)):
                for item in value:
                    if isinstance(item, Node):
                        yield item
                    elif isinstance(item, tuple):  # hashtable pairs
                        yield from (x for x in item if isinstance(x, Node))

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children():
            yield from child.walk()


# ----- scripts and statements -------------------------------------------------------------------

@dataclass
class ScriptBlock(Node):
    """A statement list: the whole input, a `{...}` body, or the inside of `$(...)` / `@(...)`."""
    statements: list[Node] = field(default_factory=list)


@dataclass
class Pipeline(Node):
    """`a | b | c`; `background` is PowerShell 7's trailing `&`."""
    elements: list[Command | CommandExpression] = field(default_factory=list)
    background: bool = False


@dataclass
class PipelineChain(Node):
    """`left && right` / `left || right`."""
    left: Node
    operator: str
    right: Node
    background: bool = False


@dataclass
class Assignment(Node):
    """`target op value` where op is '=', '+=', '-=', '*=', '/=', '%='; value is a statement."""
    target: Node
    operator: str
    value: Node


@dataclass
class KeywordStatement(Node):
    """if/foreach/function/... kept as a generic node: the keyword and its source text.
    `blocks` holds the parsed `{...}` bodies so validators still see what is inside."""
    keyword: str = ""
    text: str = ""
    blocks: list[Node] = field(default_factory=list)


# ----- pipeline elements ------------------------------------------------------------------------

@dataclass
class Command(Node):
    """A command: `elements[0]` is the name (a bare-word StringConstant unless invoked with `&`/`.`),
    the rest are CommandParameter nodes and argument expressions in order."""
    elements: list[Node] = field(default_factory=list)
    invocation: str | None = None  # '&', '.' or None
    redirections: list[Node] = field(default_factory=list)

    @property
    def name(self) -> Node:
        return self.elements[0]


@dataclass
class CommandExpression(Node):
    """An expression used as a pipeline element (only the first one may be)."""
    expression: Node
    redirections: list[Node] = field(default_factory=list)


@dataclass
class CommandParameter(Node):
    """`-Name` or `-Name:arg` (argument set, colon True)."""
    name: str = ""
    argument: Node | None = None
    colon: bool = False


@dataclass
class FileRedirection(Node):
    """`>`, `>>`, `2>`, `*>` ... a file; stream is '*', '1'..'6'."""
    stream: str
    target: Node
    append: bool = False


@dataclass
class MergingRedirection(Node):
    """`2>&1`, `*>&1`."""
    stream: str = "2"
    to_stream: str = "1"


# ----- expressions ------------------------------------------------------------------------------

@dataclass
class StringConstant(Node):
    """A string with no expansion. kind: 'bare' (command-mode word), 'single', 'double', 'here-single',
    'here-double'. `value` has quotes removed and escapes applied."""
    value: str = ""
    kind: str = "bare"


@dataclass
class ExpandableString(Node):
    """A double-quoted (or bare) string with `$var` / `$(...)` parts; `parts` alternates literal str
    and expression nodes (Variable or SubExpression) in source order."""
    value: str = ""
    kind: str = "double"
    parts: list[str | Node] = field(default_factory=list)

    def children(self) -> Iterator[Node]:
        return (p for p in self.parts if isinstance(p, Node))


@dataclass
class Constant(Node):
    """A number: value is int / float / Decimal; type_name is the .NET type PowerShell gives it."""
    value: NumberValue
    type_name: str = "Int32"
    text: str = ""


@dataclass
class Variable(Node):
    """`$name`, `$scope:name` (`$using:x`, `$env:PATH`), `${braced}`, `@splat` (splatted=True)."""
    name: str = ""
    scope: str | None = None  # 'using', 'env', 'global', ... (lower-case), None if none
    braced: bool = False
    splatted: bool = False

    @property
    def full_name(self) -> str:
        return f"{self.scope}:{self.name}" if self.scope else self.name


@dataclass
class ArrayLiteral(Node):
    """`a, b, c`."""
    elements: list[Node] = field(default_factory=list)


@dataclass
class ArrayExpression(Node):
    """`@( statements )`."""
    body: ScriptBlock


@dataclass
class SubExpression(Node):
    """`$( statements )`."""
    body: ScriptBlock


@dataclass
class Paren(Node):
    """`( pipeline )`."""
    pipeline: Node


@dataclass
class Hashtable(Node):
    """`@{ key = value; ... }`: pairs of (key expression, value statement)."""
    pairs: list[tuple[Node, Node]] = field(default_factory=list)


@dataclass
class ScriptBlockExpression(Node):
    """`{ ... }` used as a value."""
    body: ScriptBlock
    text: str = ""


@dataclass
class TypeLiteral(Node):
    """`[datetime]` on its own (a type object)."""
    type_name: str = ""


@dataclass
class Convert(Node):
    """`[datetime]"..."`: a cast of `child` to `type_name`."""
    type_name: str
    child: Node


@dataclass
class Member(Node):
    """`target.name` or `target::name` (static=True); `member` is a StringConstant or an expression."""
    target: Node
    member: Node
    static: bool = False


@dataclass
class InvokeMember(Node):
    """`target.Name(args)` / `[type]::Name(args)`."""
    target: Node
    member: Node
    arguments: list[Node] = field(default_factory=list)
    static: bool = False


@dataclass
class Index(Node):
    """`target[index]`."""
    target: Node
    index: Node


@dataclass
class Binary(Node):
    """`left op right`; op lower-case ('-eq', '+', '..', '-f', '-and', ...)."""
    operator: str
    left: Node
    right: Node


@dataclass
class Unary(Node):
    """`op child`: '-not', '!', '-', '+', ',', '-bnot', '-split', '-join', '++', '--'."""
    operator: str
    child: Node
    postfix: bool = False
