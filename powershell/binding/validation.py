"""Validate a converted argument against a parameter's attributes, as PowerShell does after
transformation: mandatory null/empty checks, then ValidateNotNullOrEmpty, ValidateSet,
ValidatePattern, ValidateRange, each applied to every element of an array.

Two deliberate choices: ValidatePattern is anchored (the whole value must match, so a role
capability's 'HR_*' cannot be smuggled past with 'xHR_'), and a ValidateSet match returns the
value in the set's own casing so cmdlets compare names exactly.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, NoReturn

from powershell.binding.conversion import ps_text
from powershell.binding.errors import ParameterBindingError
from powershell.commands import Parameter
from powershell.limits import shorten

NULL_OR_EMPTY = "The argument is null or empty. Provide an argument that is not null or empty, and then try the command again."
NULL_OR_EMPTY_COLLECTION = ("The argument is null, empty, or an element of the argument collection contains a null "
                            "value. Supply a collection that does not contain any null values and then try the "
                            "command again.")


def validate_value(value: Any, parameter: Parameter) -> Any:
    """Return the value to bind (ValidateSet may re-case it) or raise ParameterBindingError."""
    name = parameter.name
    is_array = parameter.type.endswith("[]")
    if parameter.mandatory and not parameter.is_switch:
        _check_mandatory(value, name, is_array)
    if parameter.validate_not_null_or_empty:
        _check_not_null_or_empty(value, name, is_array)
    if value is None:
        return None
    if is_array:
        return [_validate_element(v, parameter) for v in value]
    return _validate_element(value, parameter)


def _check_mandatory(value: Any, name: str, is_array: bool) -> None:
    if value is None:
        raise ParameterBindingError.make("ParameterArgumentValidationErrorNullNotAllowed", parameter=name)
    if is_array:
        if len(value) == 0:
            raise ParameterBindingError.make("ParameterArgumentValidationErrorEmptyArrayNotAllowed", parameter=name)
        for v in value:
            _check_mandatory(v, name, False)
    elif isinstance(value, str) and value == "":
        raise ParameterBindingError.make("ParameterArgumentValidationErrorEmptyStringNotAllowed", parameter=name)


def _check_not_null_or_empty(value: Any, name: str, is_array: bool) -> None:
    if is_array or isinstance(value, list):
        if not value or any(v is None or v == "" for v in value):
            _fail(name, NULL_OR_EMPTY_COLLECTION)
    elif value is None or value == "":
        _fail(name, NULL_OR_EMPTY)


def _validate_element(value: Any, p: Parameter) -> Any:
    if value is None:
        return None
    if p.validate_set:
        text = ps_text(value)
        for allowed in p.validate_set:
            if allowed.lower() == text.lower():
                value = allowed if isinstance(value, str) else value
                break
        else:
            _fail(p.name, f'The argument "{shorten(text)}" does not belong to the set "{",".join(p.validate_set)}" '
                          f"specified by the ValidateSet attribute. Supply an argument that is in the set and "
                          f"then try the command again.")
    if p.validate_pattern is not None:
        text = ps_text(value)
        if _pattern(p.validate_pattern).fullmatch(text) is None:
            _fail(p.name, f'The argument "{shorten(text)}" does not match the "{p.validate_pattern}" pattern. Supply an '
                          f'argument that matches "{p.validate_pattern}" and try the command again.')
    if p.validate_range is not None:
        low, high = p.validate_range
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if value < low:
                _fail(p.name, f"The {shorten(ps_text(value))} argument is less than the minimum allowed range of "
                              f"{ps_text(low)}. Supply an argument that is greater than or equal to "
                              f"{ps_text(low)} and then try the command again.")
            if value > high:
                _fail(p.name, f"The {shorten(ps_text(value))} argument is greater than the maximum allowed range of "
                              f"{ps_text(high)}. Supply an argument that is less than or equal to "
                              f"{ps_text(high)} and then try the command again.")
    return value


@lru_cache(maxsize=256)
def _pattern(pattern: str) -> re.Pattern[str]:
    # .NET spells named groups (?<n>...) and \k<n>; Python wants (?P<n>...) and (?P=n).
    python = re.sub(r"\(\?<([A-Za-z_]\w*)>", r"(?P<\1>", pattern)
    python = re.sub(r"\\k<([A-Za-z_]\w*)>", r"(?P=\1)", python)
    return re.compile(python, re.IGNORECASE)  # ValidatePattern's default RegexOptions.IgnoreCase


def _fail(name: str, inner: str) -> NoReturn:
    raise ParameterBindingError.make("ParameterArgumentValidationError", parameter=name, inner=inner)
