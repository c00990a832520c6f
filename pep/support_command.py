"""`pep support down [--reason TEXT]`, `pep support up`, `pep support status`: the Help + Support
outage switch (collector.support_switch). Emulator-only, so a `pep` subcommand (DESIGN rule 2).

While down, automatic collection does not run, the service's page and API answer 503 and name the
PEP fallback, and the PEP keeps collecting. A running `pep serve` sees the switch at once.

`pep support keygen [DIR]` and `pep support respond TOKEN --key FILE`: the support side of the
support-session unlock (docs/support-session.md). keygen writes the support key pair (by default
into <state dir>/support-keys, where Get-SupportSessionToken looks when support.public_key_file is
not set); respond plays Microsoft Support: it opens a request token with the private key and prints
only the response token on stdout (what it answered goes to stderr), so `$(pep support respond ...)`
works.
"""
from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from collector import support_switch
from collector.settings import EngineEnv

FALLBACK = ("Collect through the privileged endpoint meanwhile (the last 4 hours), for example: "
            "pep -c \"Get-AzureStackLog -OutputSasUri '<container SAS URL>'\"")


def _when(s: support_switch.SwitchStatus) -> str:
    return f"{s.since:%Y-%m-%d %H:%M:%S} UTC" if s.since else "-"


def main_support(env: EngineEnv, args: argparse.Namespace) -> int:
    cmd = getattr(args, "support_command", None)
    if cmd == "down":
        s = support_switch.set_down(env, getattr(args, "reason", None))
        print(f"Help + Support is down since {_when(s)}" + (f" ({s.reason})" if s.reason else "") + ".")
        print("Automatic collection is paused; the portal and its API answer 503.")
        print(FALLBACK)
        return 0
    if cmd == "up":
        s = support_switch.set_up(env)
        print(f"Help + Support is up (since {_when(s)}); automatic collection runs again.")
        return 0
    if cmd == "status":
        s = support_switch.status(env)
        if s.down:
            print(f"down since {_when(s)}" + (f" ({s.reason})" if s.reason else ""))
        else:
            print("up" + (f" since {_when(s)}" if s.since else ""))
        return 0
    if cmd == "keygen":
        return _keygen(env, args)
    if cmd == "respond":
        return _respond(args)
    print("pep support: usage: pep support down [--reason TEXT] | pep support up | pep support status | "
          "pep support keygen [DIR] | pep support respond TOKEN --key FILE", file=sys.stderr)
    return 2


def _keygen(env: EngineEnv, args: argparse.Namespace) -> int:
    from common import support_token

    folder = Path(args.dir) if args.dir else env.state.path / support_token.DEFAULT_KEY_FOLDER
    private = folder / support_token.PRIVATE_KEY_NAME
    if private.exists() and not args.force:
        print(f"pep support keygen: '{private}' exists; --force replaces it (tokens made for the old key "
              "can no longer be answered).", file=sys.stderr)
        return 1
    try:
        private, public = support_token.generate_support_keys(folder)
    except OSError as e:
        print(f"pep support keygen: cannot write to '{folder}': {e.strerror or e}", file=sys.stderr)
        return 1
    print(f"support private key: {private}  (Microsoft Support's side: pep support respond TOKEN --key {private})")
    print(f"support public key:  {public}")
    if args.dir:
        print(f'Point the stamp at it with the configuration key "support.public_key_file": "{public}".')
    return 0


def _respond(args: argparse.Namespace) -> int:
    from common import support_token

    text = sys.stdin.read() if args.token == "-" else args.token
    if args.valid_minutes is not None and not args.valid_minutes >= 0:
        print("pep support respond: --valid-minutes must be 0 or more.", file=sys.stderr)
        return 2
    try:
        key = support_token.load_private_key(Path(args.key))
        request = support_token.read_request(text, key)
    except support_token.TokenError as e:
        print(f"pep support respond: {e.message}", file=sys.stderr)
        return 1
    now = datetime.now(timezone.utc)
    if request.expires <= now:
        print(f"pep support respond: the request for support session {request.session_id} expired at "
              f"{request.expires:%Y-%m-%d %H:%M:%S} UTC; ask for a new Get-SupportSessionToken.", file=sys.stderr)
        return 1
    expires = request.expires if args.valid_minutes is None else now + timedelta(minutes=args.valid_minutes)
    token = support_token.new_response(request, key, expires)
    kind = "development " if request.development else ""
    print(f"Answering the {kind}request for support session {request.session_id} from stamp {request.stamp} "
          f"(issued {request.issued:%Y-%m-%d %H:%M:%S} UTC); the response is valid until "
          f"{expires:%Y-%m-%d %H:%M:%S} UTC.", file=sys.stderr)
    print(token)
    return 0
