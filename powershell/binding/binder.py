"""bind(): match a command's arguments to its parameters, as PowerShell's parameter binder does.

Order (the same as PowerShell, so the same error wins when several apply):
 1. resolve every parameter name (exact name or alias, else a unique prefix of a name or alias;
    declared parameters win a prefix tie against common ones) and pair it with its value:
    NamedParameterNotFound, AmbiguousParameter, MissingArgument;
 2. bind named arguments in order, narrowing the parameter sets: ParameterAlreadyBound,
    AmbiguousParameterSet, transformation and validation errors;
 3. bind the remaining arguments by position in the candidate set (default set first):
    PositionalParameterNotFound;
 4. choose the parameter set: the only one left, else the default, else the only one whose
    mandatory parameters are all bound: AmbiguousParameterSet;
 5. mandatory parameters still missing: ask the host ("Supply values for the following
    parameters:"), else MissingMandatoryParameter.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from powershell.binding.conversion import convert_value, ps_text
from powershell.binding.errors import ParameterBindingError
from powershell.binding.validation import validate_value
from powershell.commands import COMMON_PARAMETER_NAMES, TYPES, Cmdlet, Parameter
from powershell.invocation import NO_VALUE, CommandArgument
from powershell.objects import ps_type_name
from powershell.pipeline import HostUI, PromptField

ALL_SETS = "__AllParameterSets"


@dataclass
class BindingResult:
    params: dict[str, Any] = field(default_factory=dict)   # declared parameters only, real names
    common: dict[str, Any] = field(default_factory=dict)   # common parameters given, real names
    parameter_set: str = ALL_SETS


@dataclass
class _Named:
    parameter: Parameter
    value: Any
    name_arg: CommandArgument
    value_arg: CommandArgument


def bind(cmdlet_cls: type[Cmdlet], arguments: list[CommandArgument], host: HostUI | None = None, *,
         expect_input: bool = False) -> BindingResult:
    """Bind `arguments` to `cmdlet_cls`'s signature. `host` (a HostUI) answers prompts for missing
    mandatory parameters and credential passwords; without it those fail. `expect_input` says
    pipeline input will follow, so mandatory pipeline parameters are not prompted for."""
    named, positional = _resolve(cmdlet_cls, arguments)
    result = BindingResult()
    all_sets = cmdlet_cls.parameter_sets()
    valid = list(all_sets)

    for item in named:
        p = item.parameter
        if p.name in result.params or p.name in result.common:
            raise ParameterBindingError.make("ParameterAlreadyBound", parameter=p.name, argument=item.name_arg)
        if p.name in COMMON_PARAMETER_NAMES:
            result.common[p.name] = _coerce(item.value, p, item.value_arg, host)
            continue
        valid = _narrow(valid, p)
        result.params[p.name] = _coerce(item.value, p, item.value_arg, host)

    if positional:
        valid = _bind_positional(cmdlet_cls, positional, valid, result, host)

    result.parameter_set = _choose_set(cmdlet_cls, valid, result)
    _fill_mandatory(cmdlet_cls, result, host, expect_input)
    return result


# -- 1. names ------------------------------------------------------------------------------------

def _resolve(cls: type[Cmdlet], arguments: list[CommandArgument]) -> tuple[list[_Named], list[CommandArgument]]:
    named: list[_Named] = []
    positional: list[CommandArgument] = []
    only_positional = False
    i = 0
    while i < len(arguments):
        arg = arguments[i]
        i += 1
        typed = arg.parameter
        if typed is not None and (only_positional or typed == ""):
            # after `--`, or a lone `-`: the text is an ordinary argument
            arg = CommandArgument(value=_as_value(arg), text=arg.text, start=arg.start, end=arg.end)
            typed = None
        if typed is None:
            positional.append(arg)
            continue
        if typed == "-" and arg.value is NO_VALUE:
            only_positional = True  # `--`: everything after it is positional
            continue
        p = match_parameter(cls, typed, arg)
        if arg.value is not NO_VALUE or arg.colon:
            named.append(_Named(p, None if arg.value is NO_VALUE else arg.value, arg, arg))
        elif p.is_switch:
            named.append(_Named(p, True, arg, arg))
        elif i < len(arguments):
            # A non-switch parameter takes the next element whatever it looks like (`-Name -abc`).
            nxt = arguments[i]
            i += 1
            named.append(_Named(p, _as_value(nxt), arg, nxt))
        else:
            raise ParameterBindingError.make("MissingArgument", parameter=p.name, argument=arg,
                                             type=_declared_type(p))
    return named, positional


def _as_value(arg: CommandArgument) -> Any:
    if not arg.is_parameter:
        return arg.value
    if arg.text:
        return arg.text
    return f"-{arg.parameter}" + ("" if arg.value is NO_VALUE else f":{ps_text(arg.value)}")


def _declared_type(p: Parameter) -> str:
    kind = p.syntax_type or p.type
    return TYPES.get(kind, kind)


def match_parameter(cls: type[Cmdlet], typed: str, arg: CommandArgument | None = None) -> Parameter:
    """PowerShell's GetMatchingParameter: an exact name or alias wins; otherwise every parameter
    with a name or alias that starts with `typed` matches (aliases take part, as in PowerShell's
    MergedCommandParameterMetadata); one match binds; with several, a single declared (non-common)
    parameter wins; otherwise AmbiguousParameter lists the candidates, names before aliases, in
    declaration order."""
    low = typed.lower()
    params = cls.all_parameters()
    matches: list[Parameter] = []
    for p in params:
        if p.name.lower() == low:
            return p
        if p.name.lower().startswith(low):
            matches.append(p)
    for p in params:
        for alias in p.aliases:
            if alias.lower() == low:
                return p
            if alias.lower().startswith(low) and p not in matches:
                matches.append(p)
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ParameterBindingError.make("NamedParameterNotFound", parameter=typed, argument=arg)
    declared = [p for p in matches if p.name not in COMMON_PARAMETER_NAMES]
    if len(declared) == 1:
        return declared[0]
    raise ParameterBindingError.make("AmbiguousParameter", parameter=typed, argument=arg,
                                     matches="".join(f" -{p.name}" for p in matches))


# -- 2. values -----------------------------------------------------------------------------------

def _coerce(value: Any, p: Parameter, at: CommandArgument | None, host: HostUI | None) -> Any:
    try:
        return validate_value(convert_value(value, p, host), p)
    except ParameterBindingError as e:
        if e.argument is None:
            e.argument = at
        raise


def _narrow(valid: list[str], p: Parameter) -> list[str]:
    if not p.sets:
        return valid
    narrowed = [s for s in valid if s in p.sets]
    if not narrowed:
        raise ParameterBindingError.make("AmbiguousParameterSet")
    return narrowed


# -- 3. positions --------------------------------------------------------------------------------

def _bind_positional(cls: type[Cmdlet], positional: list[CommandArgument], valid: list[str],
                     result: BindingResult, host: HostUI | None) -> list[str]:
    order = sorted(valid, key=lambda s: (s != cls.default_parameter_set, valid.index(s)))
    candidates = [sorted((p for p in _in_set(cls, set_name) if p.position is not None and p.name not in result.params),
                         key=_position) for set_name in order]
    # As PowerShell does, a set whose positions take the arguments without conversion wins over the
    # default set (Enter-PSSession $s is -Session, Enter-PSSession host is -ComputerName); else the
    # default set, else the set with the most positions.
    best: list[Parameter] = next(
        (slots for slots in candidates
         if len(slots) >= len(positional) and all(_takes_as_is(p, a.value) for p, a in zip(slots, positional, strict=False))), [])
    if not best:
        for slots in candidates:
            if len(slots) >= len(positional):
                best = slots
                break
            if len(slots) > len(best):
                best = slots
    rest = next((p for p in best if p.value_from_remaining_arguments), None)
    if len(best) < len(positional) and rest is None:
        extra = positional[len(best)]
        raise ParameterBindingError.make("PositionalParameterNotFound", argument=extra, value=ps_text(extra.value))
    for p, arg in zip(best, positional, strict=False):  # extra positionals go to the remaining-arguments parameter
        valid = _narrow(valid, p)
        if p is rest and len(positional) > len(best):
            # its own position and every argument no other position took, as one list
            taken = [arg] + positional[len(best):]
            result.params[p.name] = _coerce([a.value for a in taken], p, arg, host)
        else:
            result.params[p.name] = _coerce(arg.value, p, arg, host)
    return valid


def _position(p: Parameter) -> int:
    return -1 if p.position is None else p.position


def _takes_as_is(p: Parameter, value: Any) -> bool:
    """Would `p` take `value` with no conversion at all?"""
    kind = p.type[:-2] if p.type.endswith("[]") else p.type
    if kind == "object":
        return True
    items = value if p.type.endswith("[]") and isinstance(value, (list, tuple)) else [value]
    return all(ps_type_name(v) == TYPES.get(kind) for v in items)


def _in_set(cls: type[Cmdlet], set_name: str) -> list[Parameter]:
    return [p for p in cls.parameters if not p.sets or set_name in p.sets]


# -- 4. the parameter set --------------------------------------------------------------------------

def _choose_set(cls: type[Cmdlet], valid: list[str], result: BindingResult) -> str:
    if len(valid) == 1:
        return valid[0]
    if cls.default_parameter_set in valid:
        return cls.default_parameter_set
    satisfied = [s for s in valid
                 if all(p.name in result.params for p in _in_set(cls, s) if p.mandatory)]
    if len(satisfied) == 1:
        return satisfied[0]
    raise ParameterBindingError.make("AmbiguousParameterSet")


# -- 5. mandatory parameters -----------------------------------------------------------------------

def _fill_mandatory(cls: type[Cmdlet], result: BindingResult, host: HostUI | None, expect_input: bool) -> None:
    missing = [p for p in _in_set(cls, result.parameter_set)
               if p.mandatory and p.name not in result.params
               and not (expect_input and p.value_from_pipeline)]
    if not missing:
        return
    answers = None
    if host is not None and hasattr(host, "prompt_for_parameters"):
        fields = [PromptField(p.name, p.ps_type, p.help, p.type.endswith("[]"), p.type == "securestring")
                  for p in missing]
        answers = host.prompt_for_parameters(cls.name, fields)
    if answers is None:
        raise ParameterBindingError.make("MissingMandatoryParameter",
                                         names="".join(f" {p.name}" for p in missing))
    by_name = {str(k).lower(): v for k, v in answers.items()}
    unanswered = [p for p in missing if p.name.lower() not in by_name]
    if unanswered:
        raise ParameterBindingError.make("MissingMandatoryParameter",
                                         names="".join(f" {p.name}" for p in unanswered))
    for p in missing:
        result.params[p.name] = _coerce(by_name[p.name.lower()], p, None, host)
