"""ParameterBindingError: one binding failure, carrying what PowerShell puts in its ErrorRecord.

Message texts and error ids are PowerShell's (ParameterBinderStrings.resx, Metadata.resx,
ExtendedTypeSystem.resx; Windows PowerShell 5.1 wording where it differs, as the PEP runs 5.1).
"""
from __future__ import annotations

from powershell.invocation import CommandArgument
from powershell.limits import shorten
from powershell.objects import ErrorCategory, ErrorRecord, SourcePosition, error_record, with_position, with_recommended_action

BINDING_EXCEPTION = "System.Management.Automation.ParameterBindingException"
VALIDATION_EXCEPTION = "System.Management.Automation.ParameterBindingValidationException"
TRANSFORMATION_EXCEPTION = "System.Management.Automation.ParameterBindingArgumentTransformationException"

# Message templates, keyed by error id. {name} is the parameter, the rest is per template.
MESSAGES = {
    "NamedParameterNotFound": "A parameter cannot be found that matches parameter name '{name}'.",
    "PositionalParameterNotFound": "A positional parameter cannot be found that accepts argument '{value}'.",
    "MissingArgument": "Missing an argument for parameter '{name}'. Specify a parameter of type '{type}' and try again.",
    "AmbiguousParameter": "Parameter cannot be processed because the parameter name '{name}' is ambiguous. "
                          "Possible matches include:{matches}.",
    # Windows PowerShell 5.1 text (PowerShell 7 appends a hint; the PEP runs 5.1).
    "AmbiguousParameterSet": "Parameter set cannot be resolved using the specified named parameters.",
    "MissingMandatoryParameter": "Cannot process command because of one or more missing mandatory parameters:{names}.",
    "ParameterAlreadyBound": "Cannot bind parameter because parameter '{name}' is specified more than once. To provide "
                             "multiple values to parameters that can accept multiple values, use the array syntax. "
                             "For example, \"-parameter value1,value2,value3\".",
    "ParameterArgumentTransformationError": "Cannot process argument transformation on parameter '{name}'. {inner}",
    "ParameterArgumentValidationError": "Cannot validate argument on parameter '{name}'. {inner}",
    "ParameterArgumentValidationErrorNullNotAllowed": "Cannot bind argument to parameter '{name}' because it is null.",
    "ParameterArgumentValidationErrorEmptyStringNotAllowed":
        "Cannot bind argument to parameter '{name}' because it is an empty string.",
    "ParameterArgumentValidationErrorEmptyArrayNotAllowed":
        "Cannot bind argument to parameter '{name}' because it is an empty array.",
}

_KIND = {
    "ParameterArgumentTransformationError": (ErrorCategory.InvalidData, TRANSFORMATION_EXCEPTION),
    "ParameterArgumentValidationError": (ErrorCategory.InvalidData, VALIDATION_EXCEPTION),
    "ParameterArgumentValidationErrorNullNotAllowed": (ErrorCategory.InvalidData, VALIDATION_EXCEPTION),
    "ParameterArgumentValidationErrorEmptyStringNotAllowed": (ErrorCategory.InvalidData, VALIDATION_EXCEPTION),
    "ParameterArgumentValidationErrorEmptyArrayNotAllowed": (ErrorCategory.InvalidData, VALIDATION_EXCEPTION),
}


class ParameterBindingError(Exception):
    """A binding failure. `argument` is the CommandArgument at fault (None when the fault is the
    command as a whole, e.g. AmbiguousParameterSet or MissingMandatoryParameter)."""

    def __init__(
        self,
        error_id: str,
        message: str,
        *,
        category: ErrorCategory | None = None,
        parameter: str | None = None,
        argument: CommandArgument | None = None,
        exception_type: str | None = None,
    ):
        super().__init__(message)
        default_category, default_type = _KIND.get(error_id, (ErrorCategory.InvalidArgument, BINDING_EXCEPTION))
        self.error_id = error_id
        self.message = message
        self.category = default_category if category is None else category
        self.parameter = parameter
        self.argument = argument
        self.exception_type = exception_type or default_type
        self.hint: str | None = None  # one line beyond PowerShell's message (ErrorDetails.RecommendedAction)

    @classmethod
    def make(cls, error_id: str, *, parameter: str | None = None, argument: CommandArgument | None = None,
             **fields: object) -> ParameterBindingError:
        """Build from the id's PowerShell message template. The parameter name as typed and a
        `value` are the user's text: quoted as powershell.limits.shorten cuts them."""
        if "value" in fields:
            fields["value"] = shorten(fields["value"])
        message = MESSAGES[error_id].format(name=shorten(parameter or ""), **fields)
        return cls(error_id, message, parameter=parameter, argument=argument)

    def to_error_record(self, command_name: str, input_text: str | None = None, *,
                        command_start: int | None = None, command_end: int | None = None) -> ErrorRecord:
        """The ErrorRecord PowerShell writes: FullyQualifiedErrorId '<ErrorId>,<Cmdlet>', no target
        ('(:)' in the error view), and a source position on the faulty argument when its offsets are
        known, else on the command span when the caller gives it."""
        record = error_record(self.message, self.error_id, self.category,
                              exception_type=self.exception_type, command=command_name)
        position = None
        if input_text is not None:
            arg = self.argument
            if arg is not None and arg.start is not None:
                position = SourcePosition(input_text, arg.start, arg.end)
            elif command_start is not None:
                position = SourcePosition(input_text, command_start, command_end)
        if self.hint:
            with_recommended_action(record, self.hint)
        return with_position(record, position)

    def __repr__(self) -> str:
        return f"ParameterBindingError({self.error_id!r}, {self.message!r})"
