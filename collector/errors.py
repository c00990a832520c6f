"""The engine's own errors: values with an id, a category, a message and an optional target.

The engine knows no PowerShell. A front end turns a CollectionError into whatever it shows: the
cmdlets (cmdlets/engine_bridge.py) make an ErrorRecord whose FullyQualifiedErrorId is `<error_id>,<command>`
and whose category is the PowerShell ErrorCategory of the same name; a web service shows the
message. CollectionStopped is the one way the engine says "the stop signal was honoured".
"""
from __future__ import annotations

from enum import StrEnum


class Category(StrEnum):
    """What kind of failure: the names are those of PowerShell's ErrorCategory members (so the
    mapping is by name), but the engine needs only these few."""

    AuthenticationError = "AuthenticationError"
    ConnectionError = "ConnectionError"
    InvalidArgument = "InvalidArgument"
    InvalidData = "InvalidData"
    NotInstalled = "NotInstalled"
    ObjectNotFound = "ObjectNotFound"
    OperationStopped = "OperationStopped"
    PermissionDenied = "PermissionDenied"
    ReadError = "ReadError"
    ResourceBusy = "ResourceBusy"
    ResourceUnavailable = "ResourceUnavailable"
    WriteError = "WriteError"


class CollectionError(Exception):
    """A failure that ends (or, reported as a value, mars) a collection. `error_id` is the bare id
    ("CollectionAlreadyRunning"); `target` is what it is about (a destination's safe description)."""

    def __init__(self, message: str, error_id: str, category: Category | str = Category.ResourceUnavailable,
                 target: str | None = None):
        super().__init__(message)
        self.message = message
        self.error_id = error_id
        self.category = Category(category)  # a name outside the enum is a bug: refused here
        self.target = target

    def with_target(self, target: str | None) -> CollectionError:
        """The same error about `target` (the class is kept: a DestinationError stays one)."""
        self.target = target
        return self


class CollectionStopped(Exception):
    """The stop signal was set: the engine (or a sink) stopped promptly. Never a delivery failure."""

    def __init__(self, message: str = "The collection was stopped."):
        super().__init__(message)


class DestinationError(CollectionError):
    """A destination cannot be used (or refused one file). `error_id` becomes the
    FullyQualifiedErrorId prefix; `category` one of collector.errors.Category."""

    def __init__(self, message: str, error_id: str = "DestinationUnavailable",
                 category: Category | str = Category.ResourceUnavailable):
        super().__init__(message, error_id, category)
