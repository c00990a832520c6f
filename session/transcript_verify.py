"""Check a transcript against its signed chain (docs/transcripts.md): intact, or the first change.

First the chain file itself: every entry's link (its head recomputed from the previous one) and its
Ed25519 signature under a trusted public key. Then the transcript, block by block against the
entries' SHA-256. At the first block that differs, the per-line digests name the line and what
happened there: edited, removed, added, a block moved (reordered), or the file cut short.
Sans-IO apart from reading the two files; the front end is pep/transcript_command.py.
"""
from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from session.transcript_chain import SUFFIX, line_digests, next_head, sidecar_path, signed_message, split_locate
from session.transcript_keys import key_id

SHOWN_CHARS = 80  # how much of a changed line a report quotes


@dataclass(frozen=True)
class Verdict:
    path: Path
    status: str  # intact | edited | removed | added | reordered | truncated | appended | forged |
    #              chain-broken | no-chain | unknown-key | wrong-chain | unreadable
    message: str
    line: int | None = None
    commands: int = 0
    closed: bool = False

    @property
    def intact(self) -> bool:
        return self.status == "intact"


def _quote(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace").rstrip("\r\n")
    text = text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "..."
    return text.encode("unicode_escape").decode("ascii").replace("'", "''")


def _entries(path: Path, chain: Path) -> list[dict[str, Any]] | Verdict:
    try:
        raw = chain.read_bytes()
    except FileNotFoundError:
        return Verdict(path, "no-chain", f"no chain file {chain.name}: nothing shows this transcript is unchanged")
    except OSError as e:
        return Verdict(path, "unreadable", f"cannot read {chain.name}: {e.strerror}")
    lines = raw.split(b"\n")
    if lines and lines[-1] != b"":
        lines = lines[:-1]  # a torn last entry (killed while writing it): its block shows as unsigned text
    entries = []
    for number, line in enumerate(x for x in lines if x):
        try:
            entry = json.loads(line)
        except ValueError:
            entry = None
        if not isinstance(entry, dict):
            return Verdict(path, "chain-broken", f"entry {number} of the chain file is not a chain entry")
        entries.append(entry)
    if not entries:
        return Verdict(path, "chain-broken", "the chain file is empty")
    return entries


def _check_chain(path: Path, entries: list[dict[str, Any]], keys: dict[str, Ed25519PublicKey]) -> Verdict | None:
    genesis = entries[0]
    if genesis.get("kind") != "chain" or genesis.get("n") != 0:
        return Verdict(path, "chain-broken", "the chain file does not start with its chain entry")
    if genesis.get("file") != path.name:
        return Verdict(path, "wrong-chain", f"the chain file belongs to another transcript ({genesis.get('file')})")
    key = keys.get(str(genesis.get("key_id")))
    if key is None:
        return Verdict(path, "unknown-key", f"signed with key {genesis.get('key_id')}, which is not a trusted key "
                       "(give its public key with --key)")
    head = b""
    for number, entry in enumerate(entries):
        body = {k: v for k, v in entry.items() if k not in ("head", "sig")}
        if entry.get("n") != number:
            return Verdict(path, "chain-broken", f"entry {number} of the chain file is missing or out of place")
        head = next_head(head, body)
        if entry.get("head") != head.hex():
            return Verdict(path, "chain-broken", f"entry {number} of the chain file was changed: "
                           "it does not follow from the entry before it")
        try:
            key.verify(base64.b64decode(str(entry.get("sig", "")), validate=True), signed_message(head))
        except (InvalidSignature, ValueError):
            return Verdict(path, "forged", f"entry {number} of the chain file has a signature that does not verify "
                           "with the stamp's key: the chain was rebuilt or signed by someone else (forged)")
    return None


def _matches(data: bytes, pos: int, entry: dict[str, Any]) -> bool:
    size = int(entry.get("bytes", 0))
    return bool(size) and hashlib.sha256(data[pos:pos + size]).hexdigest() == entry.get("sha256")


def _moved(data: bytes, pos: int, rest: list[dict[str, Any]]) -> int | None:
    """The index in `rest` of the block standing at `pos` when blocks were moved: a later block is
    here, and after it and the ones that follow it, the block expected here. (A later block here
    with the expected one nowhere after it is a removal, not a move.)"""
    for index in range(1, len(rest)):
        if _matches(data, pos, rest[index]):
            at, follow = pos, index
            while follow < len(rest) and _matches(data, at, rest[follow]):
                at += int(rest[follow].get("bytes", 0))
                follow += 1
            return index if _matches(data, at, rest[0]) else None
    return None


def _locate(path: Path, data: bytes, pos: int, line: int, rest: list[dict[str, Any]],
            commands: dict[int, int]) -> Verdict:
    """Where, at or after byte `pos` (line `line`), the file first departs from the chain's `rest`."""
    first = rest[0]
    moved = _moved(data, pos, rest)
    if moved is not None:  # a block that belongs further down stands here, and the expected one after it
        later = rest[moved]
        size = int(later.get("bytes", 0))
        what = (f"command {commands.get(int(later['n']), '?')} of the chain" if later.get("kind") == "input"
                else f"block {later['n']} of the chain ({later.get('kind')})")
        belongs = (f"command {commands.get(int(first['n']), '?')}" if first.get("kind") == "input"
                   else f"block {first['n']} ({first.get('kind')})")
        return Verdict(path, "reordered", f"line {line}: '{_quote(data[pos:pos + size].splitlines()[0])}' is "
                       f"{what}, but {belongs} belongs here: the commands were reordered", line)
    expected: list[str] = []
    for entry in rest:
        expected += split_locate(str(entry.get("locate", "")))
    current_lines = data[pos:].splitlines(keepends=True)
    current = line_digests(data[pos:])
    k = 0
    while k < len(expected) and k < len(current) and expected[k] == current[k]:
        k += 1
    at = line + k
    if k >= len(current) or (k == len(current) - 1 and not current_lines[k].endswith(b"\n")):
        last = line + len(current) - 1
        return Verdict(path, "truncated", f"line {at}: the file was cut short: it ends at line {last}, "
                       f"the chain records {len(expected) - k} more line(s)", at)
    if k >= len(expected):
        return Verdict(path, "appended", f"line {at}: text after the last signed block", at)
    if k + 1 < len(expected) and current[k] == expected[k + 1]:
        return Verdict(path, "removed", f"line {at}: a line was removed here (the next line, "
                       f"'{_quote(current_lines[k])}', followed it)", at)
    if k + 1 < len(current) and current[k + 1] == expected[k]:
        return Verdict(path, "added", f"line {at}: a line was added: '{_quote(current_lines[k])}'", at)
    return Verdict(path, "edited", f"line {at} was changed; it now reads '{_quote(current_lines[k])}'", at)


def verify_file(path: Path, keys: dict[str, Ed25519PublicKey]) -> Verdict:
    """The verdict on one transcript (`keys`: trusted public keys by key id)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        return Verdict(path, "unreadable", f"cannot read the transcript: {e.strerror}")
    entries = _entries(path, sidecar_path(path))
    if isinstance(entries, Verdict):
        return entries
    broken = _check_chain(path, entries, keys)
    if broken is not None:
        return broken
    blocks = entries[1:]
    commands: dict[int, int] = {}
    for entry in blocks:
        if entry.get("kind") == "input":
            commands[int(entry["n"])] = len(commands) + 1
    pos, line = 0, 1
    for index, entry in enumerate(blocks):
        size = int(entry.get("bytes", 0))
        if hashlib.sha256(data[pos:pos + size]).hexdigest() != entry.get("sha256"):
            return _locate(path, data, pos, line, blocks[index:], commands)
        pos += size
        line += int(entry.get("lines", 0))
    if pos < len(data):
        return Verdict(path, "appended", f"line {line}: text after the last signed block (added later, or "
                       "written by a process killed before it signed it)", line)
    closed = bool(blocks) and blocks[-1].get("kind") == "end"
    state = "closed" if closed else "not closed (the session is open, or its process ended without closing it)"
    return Verdict(path, "intact", f"intact: {len(commands)} command(s), {state}", None, len(commands), closed)


def trusted_keys(public_keys: list[Ed25519PublicKey]) -> dict[str, Ed25519PublicKey]:
    return {key_id(k): k for k in public_keys}


def transcripts_in(folder: Path) -> list[Path]:
    """The transcripts a folder holds (not their chain files)."""
    return sorted(p for p in Path(folder).glob("*.txt") if p.is_file() and not p.name.endswith(SUFFIX))
