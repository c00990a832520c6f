"""The PowerShell language front end: tokenizer, parser (AST with extents), parse errors, and the
NoLanguage check that turns one allowed pipeline into CommandCalls."""
from .errors import ParseError, ScriptsNotAllowedError
from .nolanguage import to_command_calls
from .parser import parse, tokenize

__all__ = ["parse", "tokenize", "ParseError", "ScriptsNotAllowedError", "to_command_calls"]
