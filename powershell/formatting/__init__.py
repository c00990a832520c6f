"""Rendering of PowerShell objects and streams as Windows PowerShell 5.1 shows them.

Pure functions (format_output, format_error, to_json, ...) plus the sinks front ends use.
"""
from powershell.formatting.errors import category_text, format_debug, format_error, format_verbose, format_warning, position_message
from powershell.formatting.jsonify import to_json
from powershell.formatting.sinks import ConsoleSink, JsonSink
from powershell.formatting.values import long_datetime, to_text
from powershell.formatting.views import format_output, register_view

__all__ = [
    "ConsoleSink",
    "JsonSink",
    "category_text",
    "format_debug",
    "format_error",
    "format_output",
    "format_verbose",
    "format_warning",
    "long_datetime",
    "position_message",
    "register_view",
    "to_json",
    "to_text",
]
