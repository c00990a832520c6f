"""The hash chain beside a transcript: one signed entry per block written (docs/transcripts.md).

The transcript stays in PowerShell's format; its chain lives in a sidecar file of the same name
with the suffix `.chain` (JSON lines). Entry 0 names the transcript and the signing key; every
later entry describes one block appended to the transcript (the start header, a command line, a
piece of output, the end footer):

    {"n": 3, "kind": "input", "line": 10, "lines": 1, "bytes": 28, "sha256": "...",
     "locate": "<8 hex digits per line>", "head": "...", "sig": "..."}

`head` is SHA-256 over the previous head and the entry's other fields (canonical JSON), so an
entry cannot be changed, dropped or moved without breaking every later head; `sig` is the
stamp's Ed25519 signature over the head, so the chain cannot be rebuilt without the private key.
Every head is signed (about 30 us each), not only the last: a session killed with -9 leaves a
chain that still verifies up to its last block. `locate` (a 32-bit BLAKE2b digest of each line)
is only there to name the first changed line; the security rests on `sha256` and the heads.
"""
from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from session.transcript_keys import key_id, public_pem

VERSION = 1
SUFFIX = ".chain"
SIGNED_PREFIX = b"azs-pep transcript chain v1\x00"
KINDS = ("start", "input", "output", "end")


def sidecar_path(transcript: Path) -> Path:
    return Path(transcript).with_suffix(SUFFIX)


def canonical(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def next_head(previous: bytes, body: Mapping[str, Any]) -> bytes:
    return hashlib.sha256(previous + canonical(body)).digest()


def signed_message(head: bytes) -> bytes:
    return SIGNED_PREFIX + head


def line_digests(data: bytes) -> list[str]:
    """One 8-hex-digit digest per line of `data` (a line ends with its newline; a last line may not)."""
    return [hashlib.blake2b(line, digest_size=4).hexdigest() for line in data.splitlines(keepends=True)]


def split_locate(locate: str) -> list[str]:
    return [locate[i:i + 8] for i in range(0, len(locate), 8)]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class ChainWriter:
    """Builds the sidecar's lines for one transcript. Not thread-safe: the transcript's lock orders calls."""

    def __init__(self, transcript: Path, key: Ed25519PrivateKey):
        self._key = key
        public: Ed25519PublicKey = key.public_key()
        self.genesis: dict[str, Any] = {
            "n": 0, "kind": "chain", "v": VERSION, "file": Path(transcript).name,
            "key_id": key_id(public), "public_key": public_pem(public).decode("ascii"),
        }
        self._head = b""
        self._n = 0
        self._line = 1

    def first_line(self) -> bytes:
        """The genesis entry (names the transcript and the key)."""
        return self._entry(self.genesis)

    def block(self, kind: str, data: bytes) -> bytes:
        """The sidecar line for `data`, just appended to the transcript."""
        self._n += 1
        lines = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
        body = {"n": self._n, "kind": kind, "line": self._line, "lines": lines, "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(), "locate": "".join(line_digests(data))}
        self._line += lines
        return self._entry(body)

    def _entry(self, body: dict[str, Any]) -> bytes:
        self._head = next_head(self._head, body)
        entry = {**body, "head": self._head.hex(), "sig": b64(self._key.sign(signed_message(self._head)))}
        return json.dumps(entry, separators=(",", ":")).encode() + b"\n"
