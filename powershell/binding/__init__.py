"""The parameter binder: arguments of one command call -> its cmdlet's parameters, with
PowerShell's matching rules, conversions, validation, parameter sets and error records.

    from powershell.binding import bind, BindingResult, ParameterBindingError, convert_value
"""
from powershell.binding.binder import ALL_SETS, BindingResult, bind, match_parameter
from powershell.binding.conversion import convert_value, ps_text
from powershell.binding.datetimes import parse_datetime, parse_timespan
from powershell.binding.errors import ParameterBindingError
from powershell.binding.validation import validate_value
from powershell.objects import ps_type_name

__all__ = [
    "ALL_SETS",
    "BindingResult",
    "ParameterBindingError",
    "bind",
    "convert_value",
    "match_parameter",
    "parse_datetime",
    "parse_timespan",
    "ps_text",
    "ps_type_name",
    "validate_value",
]
