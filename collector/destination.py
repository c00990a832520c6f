"""Where a collection goes and how it is named for resuming: one place for Get-AzureStackLog,
Send-AzureStackDiagnosticLog and any other caller of the engine.

    dest = Destination.folder(path) | Destination.share(unc, credential) | Destination.container(sas_url)
    sink = open_sink(dest, env)            # the sink for it (SMB and blob SDKs imported only when needed)
    req = collection_request(command, stamp_name, window, AsTyped(...), dest, ...)

The resume key (docs/collection.md, "Resume") is a hash of: the command, the stamp, the request's
filters and switches as the user typed them (dates unresolved, so a default window still names the
same request an hour later; role, node and type lists case-folded, sorted, without repeats) and the
destination's identity (a folder by its resolved path, a share by its UNC path and user name, a
container by a hash of its whole SAS URL, so a new signature starts afresh). -TimeOutInMinutes is
not part of it: a rerun with a longer timeout continues the same collection. No secret enters it.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from collector.errors import Category, CollectionError
from collector.faults import Faults
from collector.journal import request_key
from collector.plan import DEFAULT_TIMEOUT_MINUTES, CollectionRequest
from collector.settings import EngineEnv
from collector.sinks.base import Sink
from collector.window import Window


class DestinationKind(StrEnum):
    FOLDER = "folder"
    SHARE = "share"
    CONTAINER = "container"


class ShareCredential(Protocol):
    """What a share credential offers (psrpcore's PSCredential does); a (user, password) tuple also works."""

    @property
    def UserName(self) -> str: ...  # noqa: N802 (PowerShell's name)


@dataclass(frozen=True)
class Destination:
    kind: DestinationKind
    location: str  # folder path, UNC path, or container SAS URL (a secret: never printed or keyed as is)
    credential: ShareCredential | tuple[str, str] | None = None

    @classmethod
    def folder(cls, path: Path | str) -> Destination:
        return cls(DestinationKind.FOLDER, str(path))

    @classmethod
    def share(cls, unc: str, credential: ShareCredential | tuple[str, str] | None) -> Destination:
        return cls(DestinationKind.SHARE, unc, credential)

    @classmethod
    def container(cls, sas_url: str) -> Destination:
        return cls(DestinationKind.CONTAINER, sas_url)

    def identity(self) -> dict[str, str | None]:
        """What makes two destinations the same one, without secrets."""
        if self.kind is DestinationKind.FOLDER:
            return {"folder": self.location}
        if self.kind is DestinationKind.SHARE:
            return {"share": self.location, "user": _user_of(self.credential)}
        return {"container": hashlib.sha256(self.location.encode()).hexdigest()[:16]}


def _user_of(credential: ShareCredential | tuple[str, str] | None) -> str | None:
    if credential is None:
        return None
    if isinstance(credential, tuple):
        return credential[0]
    return str(getattr(credential, "UserName", None) or getattr(credential, "username", ""))


def open_sink(dest: Destination, env: EngineEnv) -> Sink:
    """The sink for `dest`. Raises CollectionError: DestinationNotAvailable (its SDK is not
    installed), or the sink's own refusal of a malformed destination (InvalidSharePath, InvalidSasUri)."""
    if dest.kind is DestinationKind.FOLDER:
        from collector.sinks.folder import FolderSink

        return FolderSink(Path(dest.location), Faults.from_env(env).destination_full_after_mb)
    what = "SMB share" if dest.kind is DestinationKind.SHARE else "blob storage"
    try:
        if dest.kind is DestinationKind.SHARE:
            from collector.sinks.smb import SmbSink

            return SmbSink(dest.location, dest.credential, env)
        from collector.sinks.blob import BlobSink

        return BlobSink(dest.location, env)
    except ImportError as e:
        raise CollectionError(f"The {what} destination is not available: {e}", "DestinationNotAvailable",
                              Category.NotInstalled) from None


@dataclass(frozen=True)
class AsTyped:
    """A request's parameters as the user gave them. Dates are the text or value typed (None: the
    default, which moves with the clock); lists as given."""

    from_date: str | None = None
    to_date: str | None = None
    roles: Sequence[str] | None = None
    resource_providers: Sequence[str] | None = None
    nodes: Sequence[str] | None = None
    log_types: Sequence[str] | None = None
    include_dumps: bool = False
    vm_recovery: bool = False


def _names(values: Sequence[str] | None) -> list[str] | None:
    return sorted({str(v).lower() for v in values}) if values else None


def resume_key(command: str, stamp: str, typed: AsTyped, dest: Destination) -> str:
    """The journal name of a request (module docstring): equal exactly for "the same command"."""
    return request_key({
        "command": command, "stamp": stamp, "destination": dest.identity(),
        "FromDate": typed.from_date, "ToDate": typed.to_date,
        "FilterByRole": _names(typed.roles), "FilterByResourceProvider": _names(typed.resource_providers),
        "FilterByNode": _names(typed.nodes), "FilterByLogType": _names(typed.log_types),
        "IncludeDumpFile": typed.include_dumps, "PerformVMLogRecovery": typed.vm_recovery,
    })


def collection_request(command: str, stamp: str, window: Window, typed: AsTyped, dest: Destination, *,
                       user: str = "", timeout_minutes: float = DEFAULT_TIMEOUT_MINUTES) -> CollectionRequest:
    """The engine's request for what the user typed, with its resume key."""
    return CollectionRequest(
        window=window, roles=list(typed.roles) if typed.roles else None,
        nodes=list(typed.nodes) if typed.nodes else None,
        log_types=list(typed.log_types) if typed.log_types else None,
        resource_providers=list(typed.resource_providers) if typed.resource_providers else None,
        include_dumps=typed.include_dumps, vm_recovery=typed.vm_recovery, timeout_minutes=timeout_minutes,
        user=user, resume_key=resume_key(command, stamp, typed, dest), command=command)
