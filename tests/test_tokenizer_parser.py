"""The PowerShell tokenizer and parser: values, node shapes, and parse errors with PowerShell's
ErrorIds and offsets (rows modelled on PowerShell's Parsing.Tests.ps1 / Parser.Tests.ps1 data)."""
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from powershell.language import ParseError, parse, tokenize
from powershell.language import ast as A
from powershell.objects import exception_type_name


def only_expression(text):
    (stmt,) = parse(text).statements
    assert isinstance(stmt, A.Pipeline)
    (element,) = stmt.elements
    assert isinstance(element, A.CommandExpression)
    return element.expression


def command(text):
    (stmt,) = parse(text).statements
    (element,) = stmt.elements
    assert isinstance(element, A.Command)
    return element


def first_argument(text):
    return command("cmd " + text).elements[1]


# ----- numbers: (literal, value, .NET type) --------------------------------------------------------
NUMBERS = [
    ("0", 0, "Int32"), ("42", 42, "Int32"), ("2147483647", 2147483647, "Int32"),
    ("2147483648", 2147483648, "Int64"), ("9223372036854775807", 9223372036854775807, "Int64"),
    ("9223372036854775808", Decimal(9223372036854775808), "Decimal"),
    ("1.5", 1.5, "Double"), ("1e3", 1000.0, "Double"), ("1.5e-2", 0.015, "Double"),
    ("0x10", 16, "Int32"), ("0xFF", 255, "Int32"), ("0xFFFFFFFF", -1, "Int32"),
    ("0x80000000", -2147483648, "Int32"), ("0x100000000", 4294967296, "Int64"),
    ("0xFFFFFFFFFFFFFFFF", -1, "Int64"),
    ("1kb", 1024, "Int32"), ("1KB", 1024, "Int32"), ("2mb", 2097152, "Int32"),
    ("1gb", 1073741824, "Int32"), ("2gb", 2147483648, "Int64"), ("1tb", 1 << 40, "Int64"),
    ("1pb", 1 << 50, "Int64"), ("1.5kb", 1536.0, "Double"), ("0x10kb", 16384, "Int32"),
    ("1l", 1, "Int64"), ("10L", 10, "Int64"), ("1d", Decimal(1), "Decimal"),
    ("1.5d", Decimal("1.5"), "Decimal"), ("1lkb", 1024, "Int64"), ("7y", 7, "SByte"),
    ("7uy", 7, "Byte"), ("7s", 7, "Int16"), ("7u", 7, "UInt32"),
]


@pytest.mark.parametrize("literal,value,type_name", NUMBERS)
def test_number_literals_in_expressions(literal, value, type_name):
    node = only_expression(literal)
    assert isinstance(node, A.Constant)
    assert (node.value, node.type_name) == (value, type_name)
    assert type(node.value) is type(value)


@pytest.mark.parametrize("literal,value", [("30", 30), ("-5", -5), ("0x10", 16), ("1kb", 1024),
                                           ("-1.5", -1.5), ("+3", 3)])
def test_numbers_in_command_arguments_are_numbers(literal, value):
    arg = first_argument(literal)
    assert isinstance(arg, A.Constant) and arg.value == value


def test_out_of_range_hex_is_bad_numeric_constant():
    with pytest.raises(ParseError) as e:
        parse("$n = 0x10000000000000000")
    assert (e.value.error_id, e.value.offset, e.value.end) == ("BadNumericConstant", 5, 24)


# ----- command-mode bare words ---------------------------------------------------------------------
BARE_WORDS = [
    r"C:\x\y", r"\\server\share", "10.0.0.5", "a=b", "*.log", "file[1-2].txt", "--Foo",
    "https://a/b?sv=1", "08:00", "7z", "a>b", "Storage",
]


@pytest.mark.parametrize("word", BARE_WORDS)
def test_command_mode_bare_words_are_one_string(word):
    arg = first_argument(word)
    assert isinstance(arg, A.StringConstant)
    assert (arg.value, arg.kind, arg.start, arg.end) == (word, "bare", 4, 4 + len(word))


@pytest.mark.parametrize("text,name,colon,argument", [
    ("-Name", "Name", False, None), ("-Name:x", "Name", True, "x"), ("-Force:$false", "Force", True, None),
])
def test_parameters(text, name, colon, argument):
    p = first_argument(text)
    assert isinstance(p, A.CommandParameter)
    assert (p.name, p.colon) == (name, colon)
    if argument:
        assert p.argument.value == argument


def test_quoted_dash_word_is_a_value_not_a_parameter():
    assert isinstance(first_argument("'-Name'"), A.StringConstant)
    assert isinstance(first_argument('"-Name"'), A.StringConstant)


def test_array_arguments_with_and_without_spaces():
    for text in ("Storage,ACS", "'Storage', \"ACS\"", "Storage ,ACS"):
        arg = first_argument(text)
        assert isinstance(arg, A.ArrayLiteral)
        assert [e.value for e in arg.elements] == ["Storage", "ACS"]


# ----- strings ------------------------------------------------------------------------------------
STRINGS = [
    ("'it''s'", "it's", "single"),
    ("'no `n escape'", "no `n escape", "single"),
    ('"say ""hi"""', 'say "hi"', "double"),
    ('"a`tb"', "a\tb", "double"),
    ('"`0`a`b`e`f`n`r`t`v"', "\0\a\b\x1b\f\n\r\t\v", "double"),
    ('"`u{1F600}"', "\U0001F600", "double"),
    ('"`$x `" `q"', '$x " q', "double"),
    ("@'\nline $x\n'@", "line $x", "here-single"),
    ('@"\nline\n  two\n"@', "line\n  two", "here-double"),
    ("\u2018smart\u2019", "smart", "single"),
]


@pytest.mark.parametrize("text,value,kind", STRINGS)
def test_string_literals(text, value, kind):
    node = only_expression(text)
    assert isinstance(node, A.StringConstant)
    assert (node.value, node.kind) == (value, kind)


def test_expandable_string_parts():
    node = only_expression('"from $using:d to ${to x} at $(Get-Date) $env:PATH"')
    assert isinstance(node, A.ExpandableString)
    kinds = [type(p).__name__ if not isinstance(p, str) else p for p in node.parts]
    assert kinds == ["from ", "Variable", " to ", "Variable", " at ", "SubExpression", " ", "Variable"]
    using, braced, _, env = [p for p in node.parts if not isinstance(p, str)]
    assert (using.scope, using.name) == ("using", "d")
    assert (braced.name, braced.braced) == ("to x", True)
    assert (env.scope, env.name) == ("env", "PATH")


def test_variable_then_colon_in_string_is_not_a_scope():
    node = only_expression('"$var: done"')
    assert node.parts[0].name == "var" and node.parts[1] == ": done"


# ----- expressions --------------------------------------------------------------------------------
def test_get_date_member_call():
    node = only_expression("(Get-Date).AddHours(-8)")
    assert isinstance(node, A.InvokeMember) and node.member.value == "AddHours"
    assert isinstance(node.target, A.Paren)
    assert node.arguments[0].value == -8
    assert (node.start, node.end) == (0, 23)


def test_static_member_cast_and_index():
    assert isinstance(only_expression("[datetime]::UtcNow"), A.Member)
    conv = only_expression('[datetime]"11/25/2026 08:00"')
    assert isinstance(conv, A.Convert) and conv.type_name == "datetime"
    idx = only_expression("$a[0].Name")
    assert isinstance(idx, A.Member) and isinstance(idx.target, A.Index)
    assert isinstance(only_expression("[System.Collections.Generic.List[string]]"), A.TypeLiteral)


def test_operator_precedence():
    node = only_expression("1 + 2 * 3 -eq 7 -and -not $false")
    assert node.operator == "-and"
    assert node.left.operator == "-eq" and node.left.left.operator == "+"
    assert node.right.operator == "-not"
    assert only_expression("1..5").operator == ".."
    assert only_expression('"{0}" -f 5').operator == "-f"
    assert isinstance(only_expression("1,2,3"), A.ArrayLiteral)


def test_hashtable_array_expression_and_script_block():
    h = only_expression("@{a=1; b='x'\n c = 2}")
    assert [k.value for k, _ in h.pairs] == ["a", "b", "c"]
    assert isinstance(only_expression("@('a','b')"), A.ArrayExpression)
    sb = only_expression("{ Get-Date; 1 }")
    assert isinstance(sb, A.ScriptBlockExpression) and len(sb.body.statements) == 2


def test_assignments_and_using_variables():
    (stmt,) = parse("$fromDate += (Get-Date).AddHours(-8)").statements
    assert isinstance(stmt, A.Assignment) and stmt.operator == "+="
    arg = command("Get-AzureStackLog -FromDate $using:fromDate").elements[2]
    assert (arg.scope, arg.name) == ("using", "fromDate")


# ----- statements, pipelines, continuation, comments ------------------------------------------------
def test_statements_separators_and_comments():
    script = parse("a # note\nb; c <# block\ncomment #> d\r\ne")
    names = [s.elements[0].elements[0].value for s in script.statements]
    assert names == ["a", "b", "c", "e"]


def test_line_continuation_backtick_and_trailing_pipe():
    cmd = command("Get-X `\n  -A 1")
    assert [type(e).__name__ for e in cmd.elements] == ["StringConstant", "CommandParameter", "Constant"]
    (stmt,) = parse("a |\n  b").statements
    assert len(stmt.elements) == 2
    (stmt,) = parse("a\n  | b").statements  # PowerShell 7 leading-pipe continuation
    assert len(stmt.elements) == 2


def test_chains_background_invocation_redirection_and_stop_parsing():
    (chain,) = parse("a && b || c").statements
    assert isinstance(chain, A.PipelineChain) and chain.operator == "||"
    assert parse("a &").statements[0].background is True
    assert command("& 'x' y").invocation == "&"
    assert command(". x").invocation == "."
    redirs = command("a > f.txt 2>&1 *>> all.txt").redirections
    assert [type(r).__name__ for r in redirs] == ["FileRedirection", "MergingRedirection", "FileRedirection"]
    assert redirs[2].append and redirs[2].stream == "*"
    verbatim = parse("a --% b $c | d").statements[0].elements[0].elements[1]
    assert (verbatim.kind, verbatim.value) == ("verbatim", "b $c")


def test_splatting_in_arguments():
    arg = first_argument("@params")
    assert isinstance(arg, A.Variable) and arg.splatted and arg.name == "params"


def test_keywords_parse_into_generic_statements():
    (stmt,) = parse("if ($x) { a } else { b }").statements
    assert isinstance(stmt, A.KeywordStatement) and stmt.keyword == "if"
    assert len(stmt.blocks) == 2
    (stmt,) = parse("foreach ($i in 1..3) { $i }").statements
    assert stmt.keyword == "foreach"


def test_tokenize_resolves_modes():
    kinds = [(t.kind, t.text) for t in tokenize("Get-X -A 1,b | c")]
    assert kinds == [("generic", "Get-X"), ("parameter", "-A"), ("number", "1"), ("comma", ","),
                     ("generic", "b"), ("pipe", "|"), ("generic", "c")]


# ----- parse errors: (input, ErrorId, offset) --------------------------------------------------------
# Rows from PowerShell's Parsing.Tests.ps1 (offsets; column rows converted to offsets) plus our own.
PARSE_ERRORS = [
    ("|gps", "EmptyPipeElement", 0),
    ("gps|", "EmptyPipeElement", 4),
    ("gps| |foreach name", "EmptyPipeElement", 4),
    ("1|1", "ExpressionsMustBeFirstInPipeline", 2),
    ("$a=", "ExpectedValueExpression", 3),
    ("gcm -a:", "ParameterRequiresArgument", 7),
    ("gcm -a: 1,", "MissingExpression", 10),
    ("gcm ,", "MissingArgument", 4),
    ("   )", "UnexpectedToken", 3),
    ("   }", "UnexpectedToken", 3),
    ("1+", "ExpectedValueExpression", 2),
    ("@{ a=1;b=2;c=3;", "MissingEndCurlyBrace", 2),
    ("function foo {", "MissingEndCurlyBrace", 13),
    ("@a", "SplattingNotPermitted", 0),
    ('"`u{}"', "InvalidUnicodeEscapeSequence", 1),
    ('"`u{219z}"', "InvalidUnicodeEscapeSequence", 7),
    ('"`u{12345z}"', "InvalidUnicodeEscapeSequence", 9),
    ('"`u{1234567}"', "TooManyDigitsInUnicodeEscapeSequence", 10),
    ('"`u{110000}"', "InvalidUnicodeEscapeSequenceValue", 4),
    ('"`u2195}"', "InvalidUnicodeEscapeSequence", 1),
    ('Get-Help "abc', "TerminatorExpectedAtEndOfString", 9),
    ("Get-Help 'abc", "TerminatorExpectedAtEndOfString", 9),
    ("@\"\nabc", "TerminatorExpectedAtEndOfString", 0),
    ("a <# open", "MissingTerminatorMultiLineComment", 9),
    ("{ a", "MissingEndCurlyBrace", 0),
    ("(Get-Date", "MissingEndParenthesisInExpression", 9),
    ("a $(b", "MissingEndParenthesisInSubexpression", 5),
    ("(Get-Date).AddHours(1", "MissingEndParenthesisInMethodCall", 21),
    ("$a[0", "MissingEndSquareBracket", 4),
    ("$a.", "MissingPropertyName", 3),
    ("[", "MissingTypename", 1),
    ("-not", "MissingExpressionAfterOperator", 4),
    ("a < b", "RedirectionNotSupported", 2),
    ("a 3>&2", "RedirectionNotSupported", 2),
    ("a >", "MissingFileSpecification", 3),
    ("& ", "MissingExpression", 0),
    ("a &&", "EmptyPipelineChainElement", 4),
    ("a & && b", "BackgroundOperatorInPipelineChain", 4),
    ("Get-AzureStackLog -OutputSasUri https://a/b?sv=1&sig=2", "AmpersandNotAllowed", 48),
    ("a & b", "AmpersandNotAllowed", 2),
    ("1 = 2", "InvalidLeftHandSide", 0),
    ("@{ a 1 }", "MissingEqualsInHashLiteral", 5),
    ("${}", "EmptyVariableReference", 0),
]


@pytest.mark.parametrize("text,error_id,offset", PARSE_ERRORS)
def test_parse_error_ids_and_offsets(text, error_id, offset):
    with pytest.raises(ParseError) as e:
        parse(text)
    assert (e.value.error_id, e.value.offset) == (error_id, offset)
    assert e.value.text == text


def test_parse_error_messages_are_powershells():
    cases = {
        "gps|": "An empty pipe element is not allowed.",
        "Get-Help 'abc": "The string is missing the terminator: '.",
        "gcm -a:": "Parameter -a: requires an argument.",
        "a < b": "The '<' operator is reserved for future use.",
        "a & b": 'The ampersand (&) character is not allowed. The & operator is reserved for future use; '
                 'wrap an ampersand in double quotation marks ("&") to pass it as part of a string.',
        "   )": "Unexpected token ')' in expression or statement.",
    }
    for text, message in cases.items():
        with pytest.raises(ParseError) as e:
            parse(text)
        assert e.value.message == message


def test_parse_error_record():
    with pytest.raises(ParseError) as e:
        parse("Get-Help\n  'abc")
    record = e.value.to_error_record()
    assert record.FullyQualifiedErrorId == "TerminatorExpectedAtEndOfString"
    assert exception_type_name(record) == "System.Management.Automation.ParseException"
    assert str(record.CategoryInfo.Category) .endswith("ParserError")
    assert record.TargetObject == "Get-Help\n  'abc"
    assert (record.position.line, record.position.column) == (2, 3)


def test_deep_nesting_is_a_parse_error_not_a_crash():
    with pytest.raises(ParseError):
        parse("(" * 5000)
    with pytest.raises(ParseError):
        parse("@(" * 5000 + ")" * 5000)


_ALPHABET = st.sampled_from(list("abc -:$@(){}[]'\"`|&;,.=+*/%!<>#0x1\n\r\t\\u{}?") + ["--%", "<#", "#>", "@'\n", "\n'@", '@"\n', '\n"@'])


@settings(max_examples=400, deadline=None)
@given(st.lists(_ALPHABET, max_size=40).map("".join))
def test_arbitrary_text_parses_or_raises_parse_error(text):
    try:
        parse(text)
    except ParseError as e:
        assert 0 <= e.offset <= len(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_unicode_parses_or_raises_parse_error(text):
    try:
        parse(text)
    except ParseError:
        pass
