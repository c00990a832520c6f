"""CommandContext.should_process: -WhatIf, -Confirm with a remote host's PromptForChoice (a "Yes to
All" / "No to All" answer holds for the rest of the command), and no host to ask."""
from __future__ import annotations

from typing import Any

import pytest

from powershell.pipeline import CommandContext, ListSink, PromptField, TerminatingError


class _ChoiceHost:
    def __init__(self, answers: list[int]) -> None:
        self.answers = answers
        self.asked = 0

    def prompt_for_parameters(self, command: str, fields: list[PromptField]) -> dict[str, Any] | None:
        return None

    def read_line(self, prompt: str, secure: bool = False) -> str | None:
        return None

    def prompt_for_choice(self, caption: str, message: str, choices: object, default: int) -> int:
        self.asked += 1
        return self.answers.pop(0)


@pytest.mark.parametrize("answer,expected", [(1, True), (3, False)])
def test_to_all_answer_holds_for_the_rest_of_the_command(answer: int, expected: bool) -> None:
    host = _ChoiceHost([answer])
    ctx = CommandContext("Remove-Thing", ListSink(), host=host, confirm=True)
    assert [ctx.should_process(f"item{i}") for i in range(3)] == [expected] * 3
    assert host.asked == 1


def test_single_answers_are_asked_each_time() -> None:
    host = _ChoiceHost([0, 2])
    ctx = CommandContext("Remove-Thing", ListSink(), host=host, confirm=True)
    assert [ctx.should_process("a"), ctx.should_process("b")] == [True, False]
    assert host.asked == 2


def test_whatif_skips_without_asking() -> None:
    sink = ListSink()
    ctx = CommandContext("Remove-Thing", sink, whatif=True)
    assert ctx.should_process("a") is False
    assert sink.informations == ['What if: Performing the operation "Remove-Thing" on target "a".']


def test_confirm_without_a_host_is_a_host_exception() -> None:
    ctx = CommandContext("Remove-Thing", ListSink(), confirm=True)
    with pytest.raises(TerminatingError) as e:
        ctx.should_process("a")
    assert e.value.record.FullyQualifiedErrorId == "HostException,Remove-Thing"
