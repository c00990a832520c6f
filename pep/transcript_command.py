"""`pep transcript verify [FILE...] [--key PUBFILE]`: is each transcript as its session wrote it?

With no FILE, every transcript in the state directory's `transcripts` folder; a FILE may also be a
folder (e.g. a copy of the share Close-PrivilegedEndpoint ships to). Trusted keys: the state
directory's public key, plus each --key file (a stamp's `transcript-ed25519.pub`, or the
`transcript-signing-<key id>.pub` shipped beside the transcripts). One line per transcript;
exit 0 when all are intact, 1 when any is not, 2 for a usage error (docs/transcripts.md).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from session.environment import Environment
from session.transcript_keys import PUBLIC_NAME, key_dir, load_public
from session.transcript_verify import Verdict, transcripts_in, trusted_keys, verify_file


def _keys(env: Environment, extra: list[str]) -> dict | str:
    found = []
    own = key_dir(env.state.path) / PUBLIC_NAME
    if own.exists():
        found.append(own)
    found += [Path(k) for k in extra]
    keys = []
    for path in found:
        try:
            keys.append(load_public(path))
        except (OSError, ValueError) as e:
            return f"cannot use the key file '{path}': {getattr(e, 'strerror', None) or e}"
    return trusted_keys(keys)


def _targets(env: Environment, files: list[str]) -> list[Path]:
    if not files:
        return transcripts_in(env.state.transcripts)
    out: list[Path] = []
    for name in files:
        path = Path(name)
        out += transcripts_in(path) if path.is_dir() else [path]
    return out


def main_transcript(env: Environment, args: argparse.Namespace) -> int:
    if getattr(args, "transcript_command", None) != "verify":
        print("pep transcript: usage: pep transcript verify [FILE...] [--key PUBFILE]", file=sys.stderr)
        return 2
    keys = _keys(env, args.key or [])
    if isinstance(keys, str):
        print(f"pep transcript verify: {keys}", file=sys.stderr)
        return 2
    targets = _targets(env, args.files)
    if not targets:
        where = ", ".join(args.files) if args.files else str(env.state.transcripts)
        print(f"No transcripts in {where}.")
        return 0
    verdicts: list[Verdict] = [verify_file(path, keys) for path in targets]
    for v in verdicts:
        print(f"{v.path.name}: {v.message}" if v.intact else f"{v.path.name}: NOT INTACT ({v.status}): {v.message}")
    bad = sum(1 for v in verdicts if not v.intact)
    if bad:
        print(f"{bad} of {len(verdicts)} transcript(s) not intact.", file=sys.stderr)
    return 1 if bad else 0
