"""The status tables of collector.status: every allowed transition passes, every other is refused."""
from __future__ import annotations

import itertools

import pytest

from collector.status import RUN_TRANSITIONS, UNIT_TRANSITIONS, IllegalTransition, RunStatus, UnitStatus, advance


def test_unit_transitions_exhaustively():
    allowed = {(UnitStatus.PENDING, s) for s in ("scanned", "failed", "timed out", "stopped")}
    allowed |= {(UnitStatus.SCANNED, s) for s in ("ok", "partial", "failed", "timed out", "stopped")}
    for a, b in itertools.product(UnitStatus, UnitStatus):
        if (a, b.value) in allowed:
            assert advance(UNIT_TRANSITIONS, a, b) is b
        else:
            with pytest.raises(IllegalTransition):
                advance(UNIT_TRANSITIONS, a, b)


def test_run_transitions_exhaustively():
    for a, b in itertools.product(RunStatus, RunStatus):
        if a is RunStatus.RUNNING and b is not RunStatus.RUNNING:
            assert advance(RUN_TRANSITIONS, a, b) is b
        else:
            with pytest.raises(IllegalTransition):
                advance(RUN_TRANSITIONS, a, b)


def test_statuses_are_the_manifest_words():
    assert {s.value for s in UnitStatus} - {"pending", "scanned"} == {"ok", "partial", "failed", "timed out", "stopped"}
    assert RunStatus.TIMED_OUT == "timed out" and RunStatus.INCOMPLETE == "incomplete"
