"""Where a session may make the server write to its own disk: the output roots (DESIGN rule 9).

A remote session (`pep serve`, later the Help + Support service) may write only inside the
folders configured as `collection.output_roots` (default: `<state>/AzureStackLogs`). The local
console (`pep`, `pep -c`) is the operator's own process and is not restricted (roots = None).

    roots = configured_roots(env.setting("collection.output_roots"), env.state.path)
    folder = resolve_output_path(text, roots)      # an absolute, resolved Path, or OutputPathError

Rules for a restricted session (roots given):
- a Windows drive path `C:\\AzureStackLogs` (or `C:AzureStackLogs`) means `<first root>/C/AzureStackLogs`,
  so the documented Windows examples keep working; backslashes are folder separators;
- `~` is never expanded (the server's home is not the caller's): a path whose first name starts
  with `~` (`~`, `~/x`, `~root`) is refused rather than made into a folder literally named `~`;
- any other relative path (`Logs`, `.`, `a/../b`) is taken inside the first root;
- `..` and symlinks are resolved (realpath of the nearest existing ancestor, the rest lexically)
  before the check, so neither `../../x` nor a symlink inside a root that points outside escapes;
- the resolved folder must be a root or lie under one, else `UnauthorizedOutputPath`.
Rules for everybody: a NUL byte, a name longer than 255 bytes or a path longer than 4095 bytes is
`InvalidOutputPath`, before anything is touched.

Pure: reads the file system (realpath) but never writes; imports nothing first-party.
"""
from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

NAME_MAX = 255  # bytes in one path component (Linux NAME_MAX)
PATH_MAX = 4095  # bytes in a whole path
DEFAULT_ROOT_NAME = "AzureStackLogs"

_DRIVE = re.compile(r"^([A-Za-z]):(.*)$", re.S)


class OutputPathError(Exception):
    """A local path a session may not (or cannot) write to. `error_id` becomes the
    FullyQualifiedErrorId prefix, `category` names an ErrorCategory member."""

    def __init__(self, message: str, error_id: str, category: str, exception_type: str):
        super().__init__(message)
        self.message = message
        self.error_id = error_id
        self.category = category
        self.exception_type = exception_type


def configured_roots(setting: Any, state_path: Path) -> list[Path]:
    """The output roots from the configuration value `collection.output_roots`: a list of folders
    (one string is taken as a list of one). None or missing: `<state>/AzureStackLogs`. A relative
    root is taken inside the state directory; `~` is expanded (the operator wrote it). Entries that
    are not non-empty strings are ignored; an empty result means a remote session may write nowhere."""
    if setting is None:
        values: list[Any] = [str(Path(state_path) / DEFAULT_ROOT_NAME)]
    elif isinstance(setting, str):
        values = [setting]
    elif isinstance(setting, (list, tuple)):
        values = list(setting)
    else:
        values = []
    roots: list[Path] = []
    for v in values:
        if not isinstance(v, str) or not v.strip() or "\0" in v:
            continue
        p = Path(v.strip()).expanduser()
        if not p.is_absolute():
            p = Path(state_path) / p
        real = Path(os.path.realpath(p))
        if real not in roots:
            roots.append(real)
    return roots


def describe_roots(roots: Sequence[Path]) -> str:
    return ", ".join(str(r) for r in roots) if roots else "(none configured)"


def check_path_text(text: str) -> None:
    """Refuse what no file system accepts, with a record instead of Python's ValueError/OSError."""
    shown = _shown(text)
    if "\0" in text:
        raise OutputPathError(f"The path '{shown}' is not valid: it contains a NUL character.",
                              "InvalidOutputPath", "InvalidArgument", "System.ArgumentException")
    for part in re.split(r"[\\/]", text):
        if len(part.encode("utf-8", "surrogateescape")) > NAME_MAX:
            raise OutputPathError(
                f"The path '{_shorten(shown)}' is not valid: the name '{_shorten(part)}' is longer than "
                f"{NAME_MAX} characters.", "InvalidOutputPath", "InvalidArgument", "System.IO.PathTooLongException")
    if len(text.encode("utf-8", "surrogateescape")) > PATH_MAX:
        raise OutputPathError(f"The path '{_shorten(shown)}' is not valid: it is longer than {PATH_MAX} characters.",
                              "InvalidOutputPath", "InvalidArgument", "System.IO.PathTooLongException")


def windows_drive_path(text: str, root: Path) -> Path | None:
    """`C:\\AzureStackLogs` -> `<root>/C/AzureStackLogs`; None when `text` has no drive letter."""
    m = _DRIVE.match(text)
    if not m:
        return None
    rest = [p for p in re.split(r"[\\/]", m.group(2)) if p]
    return root.joinpath(m.group(1).upper(), *rest)


def is_inside(path: Path, roots: Sequence[Path]) -> bool:
    return any(path == r or r in path.parents for r in roots)


def resolve_output_path(text: str, roots: Sequence[Path] | None, *, expand_user: bool = False) -> Path:
    """The absolute folder `text` names for a session with these roots (None: unrestricted).
    Raises OutputPathError: InvalidOutputPath (anyone), UnauthorizedOutputPath (restricted only).
    `expand_user`: expand `~` (for paths the operator configured, never for what a session typed)."""
    text = str(text)
    check_path_text(text)
    if roots is None:  # the operator's own console: where its user can write, as before
        return Path(text).expanduser().absolute()
    if not roots:
        raise OutputPathError(
            f"Access to the path '{_shown(text)}' is denied: no output roots are configured "
            "(collection.output_roots), so a remote session may not write to this computer's disk.",
            "UnauthorizedOutputPath", "PermissionDenied", "System.UnauthorizedAccessException")
    first = roots[0]
    candidate = windows_drive_path(text, first)
    if candidate is None:
        posix = text.replace("\\", "/")
        p = Path(posix).expanduser() if expand_user else Path(posix)
        if p.parts and p.parts[0].startswith("~"):
            raise OutputPathError(
                f"Access to the path '{_shown(text)}' is denied: '~' is not expanded on this computer, and a remote "
                f"session may write only under {describe_roots(roots)}. Give a folder inside "
                f"{'it' if len(roots) == 1 else 'one of them'} (a relative path is taken inside {first}).",
                "UnauthorizedOutputPath", "PermissionDenied", "System.UnauthorizedAccessException")
        candidate = p if p.is_absolute() else first / p
    resolved = Path(os.path.realpath(candidate))  # symlinks of the existing part, then `..` lexically
    if not is_inside(resolved, roots):
        raise OutputPathError(
            f"Access to the path '{_shown(text)}' is denied: a remote session may write only under "
            f"{describe_roots(roots)}. Give a folder inside "
            f"{'it' if len(roots) == 1 else 'one of them'} (a relative path is taken inside {first}; "
            f"C:\\Folder means {first / 'C' / 'Folder'}).",
            "UnauthorizedOutputPath", "PermissionDenied", "System.UnauthorizedAccessException")
    return resolved


def _shown(text: str) -> str:
    return text.replace("\0", "\\0")


def _shorten(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."
