"""Parse errors as PowerShell reports them: an ErrorId, a message and the offset it points at.

The ids and message texts are PowerShell's (ParserStrings.resx); they are data users and scripts
match on, so they are reproduced exactly.
"""
from __future__ import annotations

from powershell.limits import shorten
from powershell.objects import ErrorCategory, ErrorRecord, SourcePosition, error_record, with_position

# PowerShell's message texts, keyed by ErrorId. '{0}' is filled by the caller.
MESSAGES: dict[str, str] = {
    "MissingEndCurlyBrace": "Missing closing '}' in statement block or type definition.",
    "EmptyPipeElement": "An empty pipe element is not allowed.",
    "ExpressionsMustBeFirstInPipeline": "Expressions are only allowed as the first element of a pipeline.",
    "TerminatorExpectedAtEndOfString": "The string is missing the terminator: {0}.",
    "MissingArgument": "Missing argument in parameter list.",
    # Windows PowerShell 5.1 (the PEP's engine) text for an `&` that is not at the end of a pipeline.
    "AmpersandNotAllowed": 'The ampersand (&) character is not allowed. The & operator is reserved for '
                           'future use; wrap an ampersand in double quotation marks ("&") to pass it as '
                           'part of a string.',
    "RedirectionNotSupported": "The '{0}' operator is reserved for future use.",
    "MissingFileSpecification": "Missing file specification after redirection operator.",
    "MissingEndParenthesisInExpression": "Missing closing ')' in expression.",
    "MissingEndParenthesisInSubexpression": "Missing closing ')' in subexpression.",
    "MissingEndParenthesisInMethodCall": "Missing ')' in method call.",
    "MissingEndSquareBracket": "Missing ']' after array index expression.",
    "MissingArrayIndexExpression": "Array index expression is missing or not valid.",
    "UnexpectedToken": "Unexpected token '{0}' in expression or statement.",
    "ParameterRequiresArgument": "Parameter {0} requires an argument.",
    "MissingExpression": "Missing expression after '{0}' in pipeline element.",
    "MissingExpressionAfterOperator": "Missing expression after unary operator '{0}'.",
    "ExpectedValueExpression": "You must provide a value expression following the '{0}' operator.",
    "ExpectedExpression": "An expression was expected after '('.",
    "MissingEqualsInHashLiteral": "Missing '=' operator after key in hash literal.",
    "MissingStatementInHashLiteral": "Missing statement after '=' in hash literal.",
    "MissingTypename": "Missing type name after '['.",
    "EndSquareBracketExpectedAtEndOfType": "Missing ] at end of type token.",
    "MissingPropertyName": "Missing property name after reference operator.",
    "SplattingNotPermitted": "The splatting operator '@' cannot be used to reference variables in an "
                             "expression. '@{0}' can be used only as an argument to a command. To "
                             "reference variables in an expression use '${0}'.",
    "InvalidVariableReference": "Variable reference is not valid. '$' was not followed by a valid variable "
                                "name character. Consider using ${} to delimit the name.",
    "EmptyVariableReference": "An empty ${} variable reference was found. A name is required inside the braces.",
    "IncompleteDollarVariableReference": "${variable} reference starting is missing the closing '}'.",
    "MissingTerminatorMultiLineComment": "The terminator '#>' is missing from the multiline comment.",
    "InvalidUnicodeEscapeSequence": "The Unicode escape sequence is not valid. A valid sequence is `u{ "
                                    "followed by one to six hex digits and a closing '}'.",
    "TooManyDigitsInUnicodeEscapeSequence": "The Unicode escape sequence contains more than the maximum "
                                            "of six hex digits between braces.",
    "InvalidUnicodeEscapeSequenceValue": "The Unicode escape sequence value is out of range. The maximum "
                                         "value is 0x10FFFF.",
    "MissingUnicodeEscapeSequenceTerminator": "The Unicode escape sequence is missing the closing '}'.",
    "WhitespaceBeforeHereStringFooter": "White space is not allowed before the string terminator.",
    "BadNumericConstant": "The numeric constant {0} is not valid.",
    "InvalidLeftHandSide": "The assignment expression is not valid. The input to an assignment operator "
                           "must be an object that is able to accept assignments, such as a variable or "
                           "a property.",
    "MissingExpressionAfterToken": "Missing expression after '{0}'.",
    "MissingEndParenthesisAfterStatement": "Missing closing ')' after expression in '{0}' statement.",
    "ScriptTooComplex": "The script is too complex to parse: it is nested too deeply.",
    "EmptyPipelineChainElement": "A pipeline chain operator must be followed by a pipeline.",
    "BackgroundOperatorInPipelineChain": "Background operators can only be used at the end of a pipeline chain.",
    "MissingOpenParenthesisAfterKeyword": "Missing opening '(' after keyword '{0}'.",
    "ScriptsNotAllowed": "The syntax is not supported by this runspace. This can occur if the runspace "
                         "is in no-language mode.",
}


class ParseError(Exception):
    """A parse error: PowerShell's ErrorId, message, and where in `text` it points ([offset, end)).
    `hint` may carry one extra line of advice (ours, not PowerShell's), e.g. to quote a SAS URL."""

    def __init__(self, error_id: str, text: str, offset: int, end: int | None = None,
                 *args: object, message: str | None = None) -> None:
        if message is None:
            template = MESSAGES.get(error_id, error_id)
            # the arguments are the user's tokens: quoted as powershell.limits.shorten cuts them
            message = template.format(*(shorten(a) for a in args)) if args else template
        super().__init__(message)
        self.error_id = error_id
        self.message = message
        self.text = text
        self.offset = max(0, min(offset, len(text)))
        self.end = self.offset if end is None else max(self.offset, min(end, len(text)))
        self.hint: str | None = None

    @property
    def position(self) -> SourcePosition:
        return SourcePosition(self.text, self.offset, self.end)

    def to_error_record(self) -> ErrorRecord:
        """The record PowerShell writes for a parse failure (ParseException, ParserError)."""
        record = error_record(
            self.message,
            self.error_id,
            ErrorCategory.ParserError,
            exception_type="System.Management.Automation.ParseException",
            target=shorten(self.text),
        )
        return with_position(record, self.position)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.error_id!r}, offset={self.offset})"


class ScriptsNotAllowedError(ParseError):
    """The input parses but uses syntax a NoLanguage runspace refuses. `.hint` may carry one extra
    line of advice (ours, not PowerShell's), e.g. for date arithmetic typed at the PEP prompt."""

    def __init__(self, text: str, offset: int, end: int | None = None, hint: str | None = None,
                 construct: str | None = None) -> None:
        super().__init__("ScriptsNotAllowed", text, offset, end)
        self.hint = hint
        self.construct = construct  # what was refused, for logs and tests (e.g. "variable")
