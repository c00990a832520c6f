"""`pep support down [--reason TEXT]`, `pep support up`, `pep support status`: the Help + Support
outage switch (collector.support_switch). Emulator-only, so a `pep` subcommand (DESIGN rule 2).

While down, automatic collection does not run, the service's page and API answer 503 and name the
PEP fallback, and the PEP keeps collecting. A running `pep serve` sees the switch at once.
"""
from __future__ import annotations

import argparse
import sys

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
    print("pep support: usage: pep support down [--reason TEXT] | pep support up | pep support status",
          file=sys.stderr)
    return 2
