"""The JEA core commands every restricted endpoint exposes (anchors.md C.1): Get-Command, Get-Help,
Select-Object, Measure-Object, Out-Default, Clear-Host, Exit-PSSession, Get-FormatData.

They only ever see the session's visible commands (ctx.runspace.visible_commands()), so nothing
outside the policy can be discovered through them. Errors carry the FullyQualifiedErrorIds of the
real cmdlets (`<id>,Microsoft.PowerShell.Commands.<Class>`), since JEA proxies call those cmdlets.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from psrpcore.types import PSObject, add_note_property

from cmdlets import help as helptext
from cmdlets.help import has_wildcards, wildcard_match
from powershell.commands import Cmdlet, Example, Parameter
from powershell.limits import shorten
from powershell.objects import ErrorCategory, ErrorRecord, PSCustomObject, custom_object, error_record
from powershell.pipeline import CommandContext, TerminatingError
from powershell.text import to_display

COMMAND_TYPES = ("Alias", "Function", "Filter", "Cmdlet", "ExternalScript", "Application", "Script",
                 "Workflow", "Configuration", "All")
# Get-Command output order: PowerShell sorts by CommandType (enum order), then by name.
_TYPE_ORDER = {t: i for i, t in enumerate(COMMAND_TYPES)}
HELP_CATEGORIES = ("Alias", "Cmdlet", "Provider", "General", "FAQ", "Glossary", "HelpFile", "ScriptCommand",
                   "Function", "Filter", "ExternalScript", "All", "DefaultHelp", "Workflow", "DscResource",
                   "Class", "Configuration")

_PS_COMMANDS = "Microsoft.PowerShell.Commands."
# erase display, erase scrollback, cursor home
CLEAR_SCREEN = "\x1b[2J\x1b[3J\x1b[H"


def _record(ctx: CommandContext, message: str, error_id: str, category: ErrorCategory, exception_type: str,
            cmdlet_class: str, target: Any = None) -> ErrorRecord:
    """An error record whose FullyQualifiedErrorId names the .NET cmdlet class, as PowerShell's does."""
    record = error_record(message, error_id, category, exception_type=exception_type, command=ctx.command,
                          target=target)
    record.FullyQualifiedErrorId = f"{error_id},{_PS_COMMANDS}{cmdlet_class}"
    return record


def _register_views() -> None:
    # powershell.formatting is written alongside; until it exists the console falls back to default views.
    try:
        from powershell.formatting.views import register_view
    except ImportError:
        return
    register_view("System.Management.Automation.CommandInfo", "table",
                  ("CommandType", "DisplayName", "Version", "Source"), (15, 50, 10, None),
                  ("CommandType", "Name", "Version", "Source"))
    register_view("HelpInfoShort", "table", ("Name", "Category", "Module", "Synopsis"), (33, 9, 25, None))
    register_view("System.Management.Automation.ExtendedTypeDefinition", "table",
                  ("TypeNames", "FormatViewDefinition"))


# -- session lookups ----------------------------------------------------------------------------------

def command_kind(cls: type[Cmdlet]) -> str:
    """JEA exposes its commands as (proxy) functions; a cmdlet class may say otherwise."""
    return getattr(cls, "command_type", "Function")


def command_entries(ctx: CommandContext) -> list[tuple[str, str, type[Cmdlet]]]:
    """(CommandType, name, command) for every visible command and each of its aliases."""
    entries = []
    for cls in ctx.runspace.visible_commands():
        entries.append((command_kind(cls), cls.name, cls))
        for alias in cls.aliases:
            entries.append(("Alias", alias, cls))
    return entries


def command_info(kind: str, name: str, cls: type[Cmdlet]) -> PSCustomObject:
    if kind == "Alias":
        obj = custom_object("System.Management.Automation.AliasInfo", CommandType="Alias", Name=name,
                            Version=None, Source="", Definition=cls.name, ResolvedCommandName=cls.name,
                            DisplayName=f"{name} -> {cls.name}")
    else:
        obj = custom_object(f"System.Management.Automation.{kind}Info", CommandType=kind, Name=cls.name,
                            Version=None, Source=getattr(cls, "module", ""), Definition=helptext.command_syntax(cls).strip(),
                            ResolvedCommandName=cls.name, DisplayName=cls.name,
                            ParameterSets=helptext.syntax_lines(cls), OutputType=cls.output_type or None)
    obj.PSObject.type_names.insert(1, "System.Management.Automation.CommandInfo")
    obj.PSObject.to_string = name
    return obj


# -- Get-Command --------------------------------------------------------------------------------------

class GetCommand(Cmdlet):
    name = "Get-Command"
    aliases = ("gcm",)
    default_parameter_set = "CmdletSet"
    synopsis = "Gets the commands available in this session."
    description = (
        "Lists the commands this privileged endpoint session exposes. -Name, -Verb and -Noun accept "
        "wildcards (*, ? and [a-z]) and are not case-sensitive. With -Syntax, prints each command's syntax, "
        "one line per parameter set. Aliases are listed when asked for by name or with -CommandType Alias. "
        "Only the commands of this session are ever listed."
    )
    output_type = "System.Management.Automation.CommandInfo"
    parameters = (
        Parameter("Name", "string[]", position=0, sets=("AllCommandSet",), accepts_wildcards=True,
                  help="Names of the commands to get. Wildcards are permitted."),
        Parameter("Verb", "string[]", sets=("CmdletSet",), accepts_wildcards=True,
                  help="Gets the commands whose names have the given verbs (the part before the dash)."),
        Parameter("Noun", "string[]", sets=("CmdletSet",), accepts_wildcards=True,
                  help="Gets the commands whose names have the given nouns (the part after the dash)."),
        Parameter("Module", "string[]", aliases=("PSSnapin",), accepts_wildcards=True,
                  help="Gets the commands that came from the given modules."),
        Parameter("CommandType", "string[]", sets=("AllCommandSet",), aliases=("Type",), validate_set=COMMAND_TYPES,
                  syntax_type="System.Management.Automation.CommandTypes",
                  help="Gets only the commands of the given types."),
        Parameter("TotalCount", "int", help="Gets at most this many commands."),
        Parameter("Syntax", "switch", help="Prints the syntax of each command instead of the command objects."),
        Parameter("ListImported", "switch", help="Gets only commands in the current session (all of them are)."),
    )
    examples = (
        Example("List the commands of the session", "Get-Command"),
        Example("Show the syntax of a command", "Get-Command Get-AzureStackLog -Syntax"),
        Example("Find commands by wildcard", "Get-Command *AzureStack*"),
    )

    def invoke(self, ctx: CommandContext, params: dict[str, Any], input: list | None = None) -> None:
        entries = command_entries(ctx)
        names = params.get("Name")
        types = {t.lower() for t in params.get("CommandType") or ()}
        if "all" in types:
            types = {t.lower() for t in COMMAND_TYPES}
        elif not types:
            # JEA listing shows the session's commands; aliases only when named.
            types = {t.lower() for t in COMMAND_TYPES} - ({"alias"} if not names else set())
        entries = [e for e in entries if e[0].lower() in types]

        selected: list[tuple[str, str, type[Cmdlet]]] = []
        if names:
            for pattern in names:
                pattern = str(pattern)
                if has_wildcards(pattern):
                    hits = [e for e in entries if wildcard_match(pattern, e[1])]
                else:
                    hits = [e for e in entries if e[1].lower() == pattern.lower()]
                    if not hits:
                        ctx.write_error(_record(
                            ctx,
                            f"The term '{shorten(pattern)}' is not recognized as the name of a cmdlet, function, script "
                            "file, or operable program. Check the spelling of the name, or if a path was included, "
                            "verify that the path is correct and try again.",
                            "CommandNotFoundException", ErrorCategory.ObjectNotFound,
                            "System.Management.Automation.CommandNotFoundException", "GetCommandCommand",
                            target=pattern))
                selected += [h for h in hits if h not in selected]
        else:
            selected = entries
        for key in ("Verb", "Noun"):
            patterns = params.get(key)
            if patterns:
                part = (lambda c: c.verb()) if key == "Verb" else (lambda c: c.noun())
                selected = [e for e in selected if e[0] != "Alias"
                            and any(wildcard_match(str(p), part(e[2])) for p in patterns)]
        modules = params.get("Module")
        if modules:
            selected = [e for e in selected if any(wildcard_match(str(m), getattr(e[2], "module", "")) for m in modules)]
        selected.sort(key=lambda e: (_TYPE_ORDER.get(e[0], 99), e[1].lower()))
        total = params.get("TotalCount")
        if total is not None and total >= 0:
            selected = selected[:total]
        for kind, name, cls in selected:
            ctx.check_stopped()
            if params.get("Syntax"):
                ctx.write_output(helptext.command_syntax(cls))
            else:
                ctx.write_output(command_info(kind, name, cls))


# -- Get-Help -----------------------------------------------------------------------------------------

class GetHelp(Cmdlet):
    name = "Get-Help"
    default_parameter_set = "AllUsersView"
    synopsis = "Displays information about the commands of this session."
    description = (
        "Shows help derived from each command's definition: its synopsis, syntax, description, parameters and "
        "examples. Without a name, shows how to get help and lists the session's commands. -Examples shows only "
        "the examples; -Detailed adds parameter descriptions; -Full adds each parameter's details; -Parameter "
        "shows one parameter (wildcards permitted). Help is not available online or in a window from a remote "
        "session."
    )
    output_type = "System.String"
    parameters = (
        Parameter("Name", "string", position=0, accepts_wildcards=True,
                  help="The command (or alias) to get help about. Wildcards are permitted."),
        Parameter("Category", "string[]", validate_set=HELP_CATEGORIES,
                  help="Gets help only for items of the given categories."),
        Parameter("Full", "switch", sets=("AllUsersView",), help="Displays the entire help, with parameter details."),
        Parameter("Detailed", "switch", mandatory=True, sets=("DetailedView",),
                  help="Adds parameter descriptions and examples to the basic help."),
        Parameter("Examples", "switch", mandatory=True, sets=("Examples",), help="Displays only the name, synopsis and examples."),
        Parameter("Parameter", "string", mandatory=True, sets=("Parameters",), accepts_wildcards=True,
                  help="Displays only the detailed description of the given parameter."),
        Parameter("Online", "switch", mandatory=True, sets=("Online",), help="Displays the online version of a help topic."),
        Parameter("ShowWindow", "switch", mandatory=True, sets=("ShowWindow",), help="Displays the help in a window."),
    )
    examples = (
        Example("Get help about a command", "Get-Help Get-AzureStackLog"),
        Example("Show only the examples", "Get-Help Get-AzureStackLog -Examples"),
        Example("Show one parameter", "Get-Help Get-AzureStackLog -Parameter FilterByRole"),
    )

    def invoke(self, ctx: CommandContext, params: dict[str, Any], input: list | None = None) -> None:
        if params.get("ShowWindow"):
            raise TerminatingError(_record(
                ctx, "Get-Help does not work in a remote session.", "RemotingNotSupported",
                ErrorCategory.InvalidOperation, "System.NotSupportedException", "GetHelpCommand"))
        name = params.get("Name")
        categories = {c.lower() for c in params.get("Category") or ()}
        if not name:
            if not categories or categories & {"all", "defaulthelp", "helpfile", "general"}:
                ctx.write_output(helptext.render_overview(ctx.runspace.visible_commands()))
            return
        matches = self._topics(ctx, str(name), categories)
        if not matches:
            ctx.write_error(_record(
                ctx,
                f'Get-Help could not find {name} in a help file in this session. To download updated help topics '
                'type: "Update-Help". To get help online, search for the help topic in the TechNet library at '
                'https:/go.microsoft.com/fwlink/?LinkID=107116.',
                "HelpNotFound", ErrorCategory.ResourceUnavailable,
                "System.Management.Automation.HelpNotFoundException", "GetHelpCommand", target=name))
            return
        if len(matches) > 1:
            for category, topic, cls in matches:
                obj = custom_object("HelpInfoShort", Name=topic, Category=category, Module="",
                                    Synopsis=cls.name if category == "Alias" else cls.synopsis)
                ctx.write_output(obj)
            return
        cls = matches[0][2]
        if params.get("Online"):
            raise TerminatingError(_record(
                ctx, "The online version of this Help topic cannot be displayed because the Internet address (URI) "
                "of the Help topic is not specified in the command code or in the help file for the command.",
                "InvalidOperation", ErrorCategory.InvalidOperation, "System.InvalidOperationException",
                "GetHelpCommand"))
        pattern = params.get("Parameter")
        if pattern is not None:
            text = helptext.render_parameters(cls, str(pattern))
            if text is None:
                ctx.write_error(_record(
                    ctx, f"No parameter matches criteria {pattern}.", "NoParmsFound", ErrorCategory.InvalidArgument,
                    "System.ArgumentException", "GetHelpCommand", target=cls.name))
                return
            ctx.write_output(text)
            return
        view = "full" if params.get("Full") else "detailed" if params.get("Detailed") else \
            "examples" if params.get("Examples") else "default"
        ctx.write_output(helptext.render_help(cls, view))

    @staticmethod
    def _topics(ctx: CommandContext, name: str, categories: set[str]) -> list[tuple[str, str, type[Cmdlet]]]:
        def wanted(category: str) -> bool:
            return not categories or "all" in categories or category.lower() in categories

        entries = [e for e in command_entries(ctx) if wanted(e[0])]
        if not has_wildcards(name):
            exact = [e for e in entries if e[1].lower() == name.lower()]
            # An alias shows the help of the command it stands for, as in PowerShell.
            return [(command_kind(e[2]), e[2].name, e[2]) for e in exact[:1]]
        hits = [e for e in entries if wildcard_match(name, e[1])]
        hits.sort(key=lambda e: (e[0] != "Alias", e[1].lower()))
        if len(hits) == 1:
            e = hits[0]
            return [(command_kind(e[2]), e[2].name, e[2])]
        return hits


# -- property access shared by Select-Object and Measure-Object ---------------------------------------

_MISSING = object()


def property_names(obj: Any) -> list[str]:
    if isinstance(obj, PSObject):
        seen: list[str] = []
        for prop in list(obj.PSObject.adapted_properties) + list(obj.PSObject.extended_properties):
            if prop.name not in seen:
                seen.append(prop.name)
        return seen
    if isinstance(obj, dict):
        return [str(k) for k in obj]
    if isinstance(obj, str):
        return ["Length"]
    return []


def property_value(obj: Any, name: str) -> Any:
    """The value of a property (case-insensitive), or _MISSING."""
    low = name.lower()
    if isinstance(obj, PSObject):
        for prop in list(obj.PSObject.adapted_properties) + list(obj.PSObject.extended_properties):
            if prop.name.lower() == low:
                try:
                    return prop.get_value(obj)
                except Exception:  # a failing computed property reads as $null, as in PowerShell
                    return None
        return _MISSING
    if isinstance(obj, dict):
        for key, value in obj.items():
            if str(key).lower() == low:
                return value
        return _MISSING
    if isinstance(obj, str) and low == "length":
        return len(obj)
    return _MISSING


def _type_name(obj: Any) -> str:
    if isinstance(obj, PSObject):
        return obj.PSObject.type_names[0] if obj.PSObject.type_names else "System.Management.Automation.PSCustomObject"
    return {str: "System.String", int: "System.Int32", float: "System.Double", bool: "System.Boolean",
            dict: "System.Collections.Hashtable"}.get(type(obj), "System.Object")


def _pipeline_objects(params: dict[str, Any], input: list | None) -> list[Any]:
    if "InputObject" in params:
        return [params["InputObject"]]
    return list(input or [])


def _expand_names(patterns: Iterable[str], obj: Any) -> list[str]:
    names = property_names(obj)
    out: list[str] = []
    for pattern in patterns:
        if has_wildcards(pattern):
            out += [n for n in names if wildcard_match(pattern, n) and n not in out]
        elif pattern not in out:
            # use the object's own spelling when it has the property
            out.append(next((n for n in names if n.lower() == pattern.lower()), pattern))
    return out


# -- Select-Object ------------------------------------------------------------------------------------

class SelectObject(Cmdlet):
    name = "Select-Object"
    aliases = ("select",)
    default_parameter_set = "DefaultParameter"
    accepts_pipeline_input = True
    synopsis = "Selects objects or object properties."
    description = (
        "Selects properties of the input objects (-Property, wildcards permitted; -ExcludeProperty), the value "
        "of one property (-ExpandProperty), or some of the objects (-First, -Last, -Skip, -SkipLast, -Index, "
        "-Unique). As in JEA's restricted session, calculated properties (hashtables) are not supported: give "
        "property names only."
    )
    output_type = "System.Management.Automation.PSObject"
    parameters = (
        Parameter("Property", "object[]", position=0, sets=("DefaultParameter", "SkipLastParameter"),
                  accepts_wildcards=True, help="The properties to select. Wildcards are permitted."),
        Parameter("InputObject", "object", value_from_pipeline=True,
                  syntax_type="System.Management.Automation.PSObject",
                  help="The object to select from. Usually piped in."),
        Parameter("ExcludeProperty", "string[]", sets=("DefaultParameter", "SkipLastParameter"), accepts_wildcards=True,
                  help="Properties to leave out. Wildcards are permitted."),
        Parameter("ExpandProperty", "string", sets=("DefaultParameter", "SkipLastParameter"),
                  help="A property whose value is output instead of the object; arrays are enumerated."),
        Parameter("Unique", "switch", help="Outputs only one of identical objects."),
        Parameter("Last", "int", sets=("DefaultParameter",), validate_range=(0, 2147483647),
                  help="Number of objects to select from the end."),
        Parameter("First", "int", sets=("DefaultParameter",), validate_range=(0, 2147483647),
                  help="Number of objects to select from the beginning."),
        Parameter("Skip", "int", sets=("DefaultParameter",), validate_range=(0, 2147483647),
                  help="Number of objects to skip (from the end when -Last is used)."),
        Parameter("SkipLast", "int", sets=("SkipLastParameter",), validate_range=(0, 2147483647),
                  help="Number of objects to skip at the end."),
        Parameter("Index", "int[]", sets=("IndexParameter",), help="Selects the objects at these positions (0-based)."),
    )
    examples = (
        Example("Select two properties of the stamp information",
                "Get-AzureStackStampInformation | Select-Object CloudID, RegionName"),
        Example("Output the value of one property", "Get-AzureStackStampInformation | Select-Object -ExpandProperty StampVersion"),
        Example("List the first three commands", "Get-Command | Select-Object -First 3"),
    )

    def invoke(self, ctx: CommandContext, params: dict[str, Any], input: list | None = None) -> None:
        props = params.get("Property")
        if props is not None and not isinstance(props, (list, tuple)):
            props = [props]
        for p in props or ():
            if not isinstance(p, str):
                raise TerminatingError(_record(
                    ctx,
                    f"Cannot convert '{_type_name(p)}' to the type 'System.String' required by parameter 'Property'. "
                    "Calculated properties are not supported in this restricted session: give property names only.",
                    "CannotConvertArgument", ErrorCategory.InvalidArgument,
                    "System.Management.Automation.ParameterBindingException", "SelectObjectCommand", target=p))
        items = self._pick(_pipeline_objects(params, input), params)
        exclude = [str(x) for x in params.get("ExcludeProperty") or ()]
        if exclude and not props:
            props = ["*"]
        expand = params.get("ExpandProperty")
        seen: list[Any] = []
        for obj in items:
            ctx.check_stopped()
            results = [self._project(obj, props, exclude)] if props else [obj]
            if expand:
                results = self._expand(ctx, obj, results[0] if props else None, expand)
            for result in results:
                if params.get("Unique"):
                    key = _identity(result)
                    if key in seen:
                        continue
                    seen.append(key)
                ctx.write_output(result)

    @staticmethod
    def _pick(items: list[Any], params: dict[str, Any]) -> list[Any]:
        index = params.get("Index")
        if index is not None:
            wanted = {i if i >= 0 else len(items) + i for i in index}
            return [x for i, x in enumerate(items) if i in wanted]
        if params.get("SkipLast"):
            return items[: max(0, len(items) - params["SkipLast"])]
        skip = params.get("Skip") or 0
        first, last = params.get("First"), params.get("Last")
        if last is not None:
            # with -Last, -Skip counts from the end
            tail = items[: len(items) - skip] if skip else items
            head = tail[:first] if first is not None else []
            picked = tail[max(0, len(tail) - last):] if last else []
            return head + [x for x in picked if not any(x is h for h in head)]
        items = items[skip:]
        return items[:first] if first is not None else items

    @staticmethod
    def _project(obj: Any, props: Sequence[str], exclude: list[str]) -> PSCustomObject:
        names = [n for n in _expand_names(props, obj) if not any(wildcard_match(x, n) for x in exclude)]
        values = {}
        for n in names:
            value = property_value(obj, n)
            values[n] = None if value is _MISSING else value
        result = custom_object(f"Selected.{_type_name(obj)}", **values)
        return result

    @staticmethod
    def _expand(ctx: CommandContext, obj: Any, projected: PSCustomObject | None, name: str) -> list[Any]:
        value = property_value(obj, name)
        if value is _MISSING:
            ctx.write_error(_record(
                ctx, f'Property "{name}" cannot be found.', "ExpandPropertyNotFound", ErrorCategory.InvalidArgument,
                "System.Management.Automation.PSArgumentException", "SelectObjectCommand", target=obj))
            return []
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        if projected is not None:
            # PowerShell adds the selected properties to each expanded object
            extra = [(n, property_value(projected, n)) for n in property_names(projected)]
            for v in values:
                if isinstance(v, PSObject):
                    for n, val in extra:
                        if property_value(v, n) is _MISSING:
                            add_note_property(v, n, val)
        return values


def _identity(obj: Any) -> Any:
    """What -Unique compares: an object's property values, or the value itself."""
    if isinstance(obj, PSObject):
        return tuple((n, repr(property_value(obj, n))) for n in property_names(obj))
    return repr(obj) if isinstance(obj, (list, dict)) else obj


# -- Measure-Object -----------------------------------------------------------------------------------

class MeasureObject(Cmdlet):
    name = "Measure-Object"
    aliases = ("measure",)
    default_parameter_set = "GenericMeasure"
    accepts_pipeline_input = True
    synopsis = "Calculates the numeric properties of objects, and the characters, words and lines of text."
    description = (
        "Counts the input objects and, for numeric values or numeric properties (-Property), computes the sum, "
        "average, maximum and minimum. With -Line, -Word or -Character, measures text instead."
    )
    output_type = "Microsoft.PowerShell.Commands.GenericMeasureInfo"
    parameters = (
        Parameter("Property", "string[]", position=0, accepts_wildcards=True, help="Properties to measure."),
        Parameter("InputObject", "object", value_from_pipeline=True,
                  syntax_type="System.Management.Automation.PSObject", help="The objects to measure. Usually piped in."),
        Parameter("Sum", "switch", sets=("GenericMeasure",), help="Adds up the values."),
        Parameter("Average", "switch", sets=("GenericMeasure",), help="Averages the values."),
        Parameter("Maximum", "switch", sets=("GenericMeasure",), help="Gets the largest value."),
        Parameter("Minimum", "switch", sets=("GenericMeasure",), help="Gets the smallest value."),
        Parameter("Line", "switch", sets=("TextMeasure",), help="Counts the lines of text."),
        Parameter("Word", "switch", sets=("TextMeasure",), help="Counts the words of text."),
        Parameter("Character", "switch", sets=("TextMeasure",), help="Counts the characters of text."),
        Parameter("IgnoreWhiteSpace", "switch", sets=("TextMeasure",), help="Does not count white space as characters."),
    )
    examples = (
        Example("Count the commands of the session", "Get-Command | Measure-Object"),
        Example("Measure the text of the third-party notices", "Get-ThirdPartyNotices | Measure-Object -Line -Word"),
    )

    def invoke(self, ctx: CommandContext, params: dict[str, Any], input: list | None = None) -> None:
        objs = [o for o in _pipeline_objects(params, input) if o is not None]
        patterns = [str(p) for p in params.get("Property") or ()]
        text = any(params.get(k) for k in ("Line", "Word", "Character"))
        targets: list[tuple[str | None, list[Any]]] = []
        if patterns:
            names: list[str] = []
            for obj in objs:
                names += [n for n in _expand_names(patterns, obj) if n not in names]
            for pattern in patterns:
                if not has_wildcards(pattern) and all(property_value(o, pattern) is _MISSING for o in objs):
                    ctx.write_error(_record(
                        ctx, f'The property "{pattern}" cannot be found in the input for any objects.',
                        "GenericMeasurePropertyNotFound", ErrorCategory.InvalidArgument,
                        "System.Management.Automation.PSArgumentException", "MeasureObjectCommand", target=pattern))
            for n in names:
                values = [property_value(o, n) for o in objs]
                values = [v for v in values if v is not _MISSING]
                if values:
                    targets.append((n, values))
        else:
            targets.append((None, objs))
        for prop, values in targets:
            ctx.write_output(self._text(values, prop, params) if text else self._generic(ctx, values, prop, params))

    @staticmethod
    def _generic(ctx: CommandContext, values: list[Any], prop: str | None, params: dict[str, Any]) -> PSCustomObject:
        wanted = [k for k in ("Sum", "Average", "Maximum", "Minimum") if params.get(k)]
        numbers: list[float] = []
        if wanted:
            for v in values:
                n = _number(v)
                if n is None:
                    ctx.write_error(_record(
                        ctx, f'Input object "{_text_of(v)}" is not numeric.', "NonNumericInputObject",
                        ErrorCategory.InvalidType, "System.Management.Automation.PSInvalidOperationException",
                        "MeasureObjectCommand", target=v))
                else:
                    numbers.append(n)
        total = math.fsum(numbers) if numbers else 0.0
        return custom_object(
            "Microsoft.PowerShell.Commands.GenericMeasureInfo",
            Count=len(values),
            Average=(total / len(numbers) if numbers else None) if params.get("Average") else None,
            Sum=total if params.get("Sum") else None,
            Maximum=(max(numbers) if numbers else None) if params.get("Maximum") else None,
            Minimum=(min(numbers) if numbers else None) if params.get("Minimum") else None,
            Property=prop,
        )

    @staticmethod
    def _text(values: list[Any], prop: str | None, params: dict[str, Any]) -> PSCustomObject:
        lines = words = chars = 0
        for v in values:
            s = _text_of(v)
            lines += len(s.splitlines())
            words += len(s.split())
            chars += len("".join(s.split())) if params.get("IgnoreWhiteSpace") else len(s)
        return custom_object(
            "Microsoft.PowerShell.Commands.TextMeasureInfo",
            Lines=lines if params.get("Line") else None,
            Words=words if params.get("Word") else None,
            Characters=chars if params.get("Character") else None,
            Property=prop,
        )


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _text_of(value: Any) -> str:
    """The object's ToString(), as Measure-Object measures and quotes it: the one rule's to_display
    (an array is System.Object[], a date in the en-US culture form)."""
    return to_display(value)


# -- Out-Default, Clear-Host, Exit-PSSession ----------------------------------------------------------

class OutDefault(Cmdlet):
    name = "Out-Default"
    accepts_pipeline_input = True
    synopsis = "Sends the output to the default formatter and the default output cmdlet."
    description = ("Passes its input on to the session's front end, which formats and displays it as it does any "
                   "other output.")
    parameters = (
        Parameter("InputObject", "object", value_from_pipeline=True,
                  syntax_type="System.Management.Automation.PSObject", help="The objects to display."),
    )
    examples = (Example("Display the stamp information", "Get-AzureStackStampInformation | Out-Default"),)

    def invoke(self, ctx: CommandContext, params: dict[str, Any], input: list | None = None) -> None:
        for obj in _pipeline_objects(params, input):
            ctx.write_output(obj)


class ClearHost(Cmdlet):
    name = "Clear-Host"
    aliases = ("cls", "clear")
    synopsis = "Clears the display in the host program."
    description = ("Clears the screen of an interactive console. Where the output is not a terminal (one-shot "
                   "commands, remoting), it does nothing.")
    examples = (Example("Clear the screen", "Clear-Host"),)

    def invoke(self, ctx: CommandContext, params: dict[str, Any], input: list | None = None) -> None:
        # Only a console drawing on a terminal has a screen to clear (runspace.is_terminal); the sequence
        # goes out as host text so it never enters the pipeline or a one-shot's captured output.
        if getattr(ctx.runspace, "is_terminal", False):
            ctx.write_host(CLEAR_SCREEN)


class ExitPSSession(Cmdlet):
    name = "Exit-PSSession"
    aliases = ("exsn",)
    synopsis = "Ends an interactive session with a remote computer."
    description = ("Ends this privileged endpoint session. Transcripts stay on the endpoint until the next "
                   "Close-PrivilegedEndpoint.")
    examples = (Example("Leave the session", "Exit-PSSession"),)

    def invoke(self, ctx: CommandContext, params: dict[str, Any], input: list | None = None) -> None:
        ctx.runspace.exit_requested = True


# -- Get-FormatData -----------------------------------------------------------------------------------

def _registered_views() -> dict[str, Any]:
    from powershell.formatting.views import registered_views

    return registered_views()


class GetFormatData(Cmdlet):
    name = "Get-FormatData"
    synopsis = "Gets the formatting data in the current session."
    description = ("Gets the default table and list views registered in this session, one ExtendedTypeDefinition "
                   "per type name. -TypeName accepts wildcards.")
    output_type = "System.Management.Automation.ExtendedTypeDefinition"
    parameters = (
        Parameter("TypeName", "string[]", position=0, accepts_wildcards=True,
                  help="Type names whose formatting data to get. Wildcards are permitted."),
        Parameter("PowerShellVersion", "string", syntax_type="System.Version",
                  help="Accepted for compatibility; every view is returned in the same form."),
    )
    examples = (Example("Get the view of command objects", "Get-FormatData -TypeName *CommandInfo"),)

    def invoke(self, ctx: CommandContext, params: dict[str, Any], input: list | None = None) -> None:
        patterns = [str(p) for p in params.get("TypeName") or ["*"]]
        for type_name, view in sorted(_registered_views().items(), key=lambda kv: kv[0].lower()):
            if not any(wildcard_match(p, type_name) for p in patterns):
                continue
            kind = getattr(view, "kind", "table")
            props = list(getattr(view, "properties", ()))
            labels = list(getattr(view, "labels", None) or props)
            widths = list(getattr(view, "widths", None) or [None] * len(props))
            control = "TableControl" if kind == "table" else "ListControl"
            view_def = custom_object("System.Management.Automation.FormatViewDefinition",
                                     Name=f"{type_name}View", Control=control,
                                     Properties=props, Labels=labels, Widths=[w or 0 for w in widths])
            view_def.PSObject.to_string = f"{type_name}View"
            ctx.write_output(custom_object("System.Management.Automation.ExtendedTypeDefinition",
                                           TypeName=type_name, TypeNames=[type_name],
                                           FormatViewDefinition=[view_def]))


_register_views()

CMDLETS = (ClearHost, ExitPSSession, GetCommand, GetFormatData, GetHelp, MeasureObject, OutDefault, SelectObject)
