"""Help text and syntax lines rendered from the declarative cmdlet model.

Everything Get-Command -Syntax and Get-Help print is derived here from a Cmdlet class, so the
text can never drift from what the binder accepts. Layouts follow Windows PowerShell 5.1.
"""
from __future__ import annotations

import fnmatch
import re
import textwrap
from collections.abc import Iterable, Sequence

from powershell.commands import SHOULD_PROCESS_PARAMETERS, TYPES, Cmdlet, Parameter

# Get-Command -Syntax prints type-accelerator names (string, int, switch, ...); Object keeps its case.
_ACCELERATORS = {
    "System.String": "string",
    "System.Int32": "int",
    "System.Int64": "long",
    "System.Double": "double",
    "System.Boolean": "bool",
    "System.Management.Automation.SwitchParameter": "switch",
    "System.DateTime": "datetime",
    "System.TimeSpan": "timespan",
    "System.Uri": "uri",
    "System.Management.Automation.PSCredential": "pscredential",
    "System.Security.SecureString": "securestring",
    "System.Management.Automation.ScriptBlock": "scriptblock",
    "System.Collections.Hashtable": "hashtable",
    "System.Management.Automation.PSObject": "psobject",
    "System.Version": "version",
    "System.Object": "Object",
}

COMMON_PARAMETERS_TEXT = (
    "This cmdlet supports the common parameters: Verbose, Debug,\n"
    "ErrorAction, ErrorVariable, WarningAction, WarningVariable,\n"
    "OutBuffer, PipelineVariable, and OutVariable. For more information, see\n"
    "about_CommonParameters (https:/go.microsoft.com/fwlink/?LinkID=113216)."
)

WILDCARD_CHARS = re.compile(r"[*?\[]")


def has_wildcards(text: str) -> bool:
    return bool(WILDCARD_CHARS.search(text))


def wildcard_match(pattern: str, name: str) -> bool:
    """PowerShell -like semantics: case-insensitive, * ? and [a-z] character sets."""
    return fnmatch.fnmatchcase(name.lower(), pattern.lower())


# -- syntax ---------------------------------------------------------------------------------------

def _full_type(p: Parameter) -> str:
    t = p.syntax_type or p.type
    return TYPES.get(t, t)


def accelerator_type(p: Parameter) -> str:
    """Type as Get-Command -Syntax shows it: `string[]`, `int`, `Object`, `CommandTypes`."""
    full = _full_type(p)
    suffix = ""
    while full.endswith("[]"):
        full, suffix = full[:-2], suffix + "[]"
    return _ACCELERATORS.get(full, full.rsplit(".", 1)[-1]) + suffix


def _ordered_sets(cls: type[Cmdlet]) -> list[str]:
    """The default parameter set first, then the others in declaration order (as PowerShell lists them)."""
    sets = cls.parameter_sets()
    default = cls.default_parameter_set
    if default in sets:
        sets = [default] + [s for s in sets if s != default]
    return sets


def _display_order(params: Sequence[Parameter]) -> list[Parameter]:
    """Positional by position, then named mandatory, then named optional (PowerShell's display order)."""
    positional = sorted((p for p in params if p.position is not None), key=lambda p: p.position or 0)
    named_mandatory = [p for p in params if p.position is None and p.mandatory]
    named_optional = [p for p in params if p.position is None and not p.mandatory]
    return positional + named_mandatory + named_optional


def _syntax_token(p: Parameter, type_text: str) -> str:
    if p.is_switch:
        return f"-{p.name}" if p.mandatory else f"[-{p.name}]"
    name = f"[-{p.name}]" if p.position is not None else f"-{p.name}"
    token = f"{name} <{type_text}>"
    return token if p.mandatory else f"[{token}]"


def syntax_lines(cls: type[Cmdlet], help_style: bool = False) -> list[str]:
    """One line per parameter set. help_style uses .NET short names (String[]) as Get-Help does;
    otherwise the accelerator names Get-Command -Syntax prints."""
    lines = []
    extra = list(SHOULD_PROCESS_PARAMETERS) if cls.supports_should_process else []
    for set_name in _ordered_sets(cls):
        params = _display_order(cls.parameters_in_set(set_name)) + extra
        tokens = [cls.name]
        for p in params:
            tokens.append(_syntax_token(p, p.display_type if help_style else accelerator_type(p)))
        tokens.append("[<CommonParameters>]")
        lines.append(" ".join(tokens))
    return lines


def command_syntax(cls: type[Cmdlet]) -> str:
    """What Get-Command -Syntax writes: each set's line preceded by an empty line (CmdletInfo.Syntax)."""
    return "".join(f"\n{line}\n" for line in syntax_lines(cls))


# -- help -----------------------------------------------------------------------------------------

def _indent(text: str, n: int) -> list[str]:
    pad = " " * n
    return [(pad + line) if line.strip() else "" for line in text.splitlines()] or [""]


PROSE_WIDTH = 80  # help prose and syntax are wrapped like a console help view; code lines are not


def _syntax_wrapped(line: str, n: int = 4) -> list[str]:
    """A syntax line wrapped to PROSE_WIDTH between parameters (never inside `[-Name <Type>]`),
    continued at the same indent, as the help view shows long syntax."""
    groups, depth, start = [], 0, 0
    for i, ch in enumerate(line):
        depth += ch in "[<{"
        depth -= ch in "]>}"
        if ch == " " and depth == 0:
            groups.append(line[start:i])
            start = i + 1
    groups.append(line[start:])
    out, current = [], ""
    for g in filter(None, groups):
        if current and n + len(current) + 1 + len(g) > PROSE_WIDTH:
            out.append(" " * n + current)
            current = g
        else:
            current = f"{current} {g}" if current else g
    return out + [" " * n + current]


def _prose(text: str, n: int) -> list[str]:
    """Paragraphs wrapped to PROSE_WIDTH and indented by n (blank lines separate paragraphs)."""
    out: list[str] = []
    for para in text.split("\n"):
        if not para.strip():
            out.append("")
            continue
        out += textwrap.wrap(para, PROSE_WIDTH, initial_indent=" " * n, subsequent_indent=" " * n,
                             break_long_words=False, break_on_hyphens=False)
    return out or [""]


def _parameter_block(cls: type[Cmdlet], p: Parameter, table: bool = True) -> list[str]:
    head = f"    -{p.name} [<SwitchParameter>]" if p.is_switch else f"    -{p.name} <{p.display_type}>"
    out = [head]
    if p.help:
        out += _prose(p.help, 8)
    if p.validate_set:
        out += _prose("Valid values: " + ", ".join(p.validate_set), 8)
    out.append("")
    if table:
        if p.default is not None:
            default = p.default
        else:
            default = "False" if p.is_switch else "None"
        if p.value_from_pipeline:
            pipeline = "True (ByValue)"
        else:
            pipeline = "false"
        rows = [
            ("Required?", "true" if p.mandatory else "false"),
            ("Position?", str(p.position) if p.position is not None else "named"),
            ("Default value", default),
            ("Accept pipeline input?", pipeline),
            ("Accept wildcard characters?", "true" if p.accepts_wildcards else "false"),
        ]
        if p.aliases:
            rows.append(("Aliases", ", ".join(p.aliases)))
        out += [f"        {label:<29}{value}" for label, value in rows]
        out.append("")
    return out


def _examples(cls: type[Cmdlet]) -> list[str]:
    out: list[str] = []
    for i, ex in enumerate(cls.examples, 1):
        title = f"Example {i}: {ex.title}" if ex.title else f"EXAMPLE {i}"
        out.append(f"    {'-' * 10} {title} {'-' * 10}")
        out.append("")
        code = ex.code.splitlines() or [""]
        out.append(f"    PS C:\\> {code[0]}")
        out += _indent("\n".join(code[1:]), 4) if len(code) > 1 else []
        if ex.remarks:
            out.append("")
            out += _prose(ex.remarks, 4)
        out.append("")
        out.append("")
    return out


def _remarks(cls: type[Cmdlet], view: str) -> list[str]:
    n = cls.name
    out = ["REMARKS"]
    out.append(f'    To see the examples, type: "get-help {n} -examples".')
    if view == "default":
        out.append(f'    For more information, type: "get-help {n} -detailed".')
    out.append(f'    For technical information, type: "get-help {n} -full".')
    return out


def render_help(cls: type[Cmdlet], view: str = "default") -> str:
    """Get-Help text. view: "default", "detailed", "full" or "examples"."""
    lines: list[str] = ["", "NAME", f"    {cls.name}", ""]
    lines += ["SYNOPSIS"] + _prose(cls.synopsis or cls.name, 4) + [""]
    if view == "examples":
        lines.append("")
        lines += _examples(cls)
        return "\n".join(lines).rstrip("\n") + "\n"
    lines += ["", "SYNTAX"]
    for line in syntax_lines(cls, help_style=True):
        lines += _syntax_wrapped(line) + [""]
    lines += ["", "DESCRIPTION"] + _prose(cls.description or cls.synopsis, 4) + ["", ""]
    if view in ("detailed", "full"):
        lines.append("PARAMETERS")
        for p in cls.parameters:
            lines += _parameter_block(cls, p, table=(view == "full"))
        lines += ["    <CommonParameters>"] + _indent(COMMON_PARAMETERS_TEXT, 8) + [""]
        if view == "full":
            pipeline = [p for p in cls.parameters if p.value_from_pipeline]
            lines += ["INPUTS"]
            lines += [f"    {pipeline[0].ps_type}" if pipeline else "    None"] + ["", ""]
            lines += ["OUTPUTS", f"    {cls.output_type or 'System.Object'}", "", ""]
            lines += ["NOTES", "", ""]
        lines += _examples(cls)
    if view == "full":
        lines += ["RELATED LINKS", ""]
    else:
        if view == "default":
            lines += ["RELATED LINKS", ""]
        lines += _remarks(cls, view)
    return "\n".join(lines).rstrip("\n") + "\n"


def render_parameters(cls: type[Cmdlet], pattern: str) -> str | None:
    """Get-Help -Parameter: the blocks of the parameters whose name matches (wildcards allowed);
    None when nothing matches."""
    blocks: list[str] = []
    for p in cls.parameters:
        if wildcard_match(pattern, p.name):
            blocks += _parameter_block(cls, p)
    if not blocks:
        return None
    return "\n" + "\n".join(blocks).rstrip("\n") + "\n"


def render_overview(commands: Iterable[type[Cmdlet]]) -> str:
    """Get-Help with no name: how to get help in this session, and what the session offers."""
    cmds = sorted(commands, key=lambda c: c.name.lower())
    width = max([len(c.name) for c in cmds] + [24]) + 4
    lines = [
        "",
        "TOPIC",
        "    Privileged endpoint (PEP) help",
        "",
        "SHORT DESCRIPTION",
        "    How to get help for the commands of this privileged endpoint session.",
        "",
        "LONG DESCRIPTION",
        "    The privileged endpoint is a constrained PowerShell session in NoLanguage mode: each",
        "    input is one pipeline of the commands listed below, with constant arguments. Variables,",
        "    script blocks, subexpressions and method calls are not allowed; compute values such as",
        "    dates on your workstation and pass them in with Invoke-Command and $using:.",
        "",
        "  GETTING HELP",
        f"    {'Get-Help <command-name>':<44}Displays help about a command.",
        f"    {'Get-Help <command-name> -Examples':<44}Displays examples of the command.",
        f"    {'Get-Help <command-name> -Detailed':<44}Displays the parameters and examples.",
        f"    {'Get-Help <command-name> -Full':<44}Displays everything, with each parameter's details.",
        f"    {'Get-Help <command-name> -Parameter <name>':<44}Displays help for one parameter.",
        f"    {'Get-Command <command-name> -Syntax':<44}Displays the syntax of a command.",
        "",
        "  COMMANDS IN THIS SESSION",
    ]
    for c in cmds:
        lines.append(f"    {c.name:<{width}}{c.synopsis}".rstrip())
    return "\n".join(lines) + "\n"
