"""Test-AzureStack: the boolean, the groups, failures from the stamp's state, and ShouldProcess."""
from __future__ import annotations

from powershell.pipeline import ListSink
from session.environment import Environment
from session.runspace import Runspace

SMALL_STAMP = {"stamp": {"days": 0.1, "mb_per_hour": 0.02}}  # Test-AzureStack writes its log into the stamp


def run(text, tmp_path, config=None, host=None):
    config = {**SMALL_STAMP, **(config or {})}
    rs = Runspace(Environment(state_dir=tmp_path, config=config), transcript=False, host=host)
    sink = ListSink()
    return rs.invoke(text, sink), sink


def test_healthy_stamp_returns_true_with_a_line_per_test(tmp_path):
    result, sink = run("Test-AzureStack", tmp_path)
    assert result.state == "Completed" and sink.outputs == [True]
    lines = [str(i) for i in sink.informations]
    assert lines[0] == "Starting Test-AzureStack"
    assert any(line.startswith("Azure Stack Hub Infrastructure Role Summary") and line.endswith("PASS") for line in lines)
    assert lines[-1] == "Test-AzureStack completed successfully"


def test_unreachable_host_fails_the_summaries_that_cover_it(tmp_path):
    result, sink = run("Test-AzureStack", tmp_path, {"faults": {"unreachable_hosts": ["azs-xrp02"]}})
    assert sink.outputs == [False]
    ids = {e.FullyQualifiedErrorId for e in sink.errors}
    assert ids == {"AzsInfraRoleSummaryFailed,Test-AzureStack", "AzsScaleUnitResourcesFailed,Test-AzureStack"}
    assert "azs-xrp02" in str(sink.errors[0])


def test_readiness_groups_treat_warnings_as_blockers(tmp_path):
    config = {"health": {"warn": ["AzsInfraCapacity", "AzsStampBMCSummary"]}}
    _, default = run("Test-AzureStack", tmp_path, config)
    assert default.outputs == [True] and len(default.warnings) == 2
    _, update = run("Test-AzureStack -Group UpdateReadiness", tmp_path, config)
    assert update.outputs == [False]
    assert [e.FullyQualifiedErrorId for e in update.errors] == ["AzsStampBMCSummaryFailed,Test-AzureStack"]


def test_include_ignore_detailed_results_and_list(tmp_path):
    _, sink = run("Test-AzureStack -Include AzsControlPlane,AzsDefenderSummary -DetailedResults", tmp_path)
    assert [o.Name for o in sink.outputs[:-1]] == ["AzsControlPlane", "AzsDefenderSummary"]
    assert sink.outputs[-1].Result == "PASS" and sink.outputs[-1].Tests == 2
    _, sink = run("Test-AzureStack -Ignore AzsControlPlane -DetailedResults", tmp_path)
    assert "AzsControlPlane" not in [getattr(o, "Name", None) for o in sink.outputs]
    _, sink = run("Test-AzureStack -List", tmp_path)
    assert len(sink.outputs) == 28 and sink.outputs[0].Name == "AzsAcsSummary"


def test_whatif_runs_nothing_and_confirm_asks(tmp_path):
    _, sink = run("Test-AzureStack -WhatIf", tmp_path)
    assert sink.outputs == [] and [str(i) for i in sink.informations] == [
        'What if: Performing the operation "Test-AzureStack" on target "azs".']

    class Host:
        def __init__(self, answer):
            self.answer, self.prompts = answer, []

        def read_line(self, prompt, secure=False):
            self.prompts.append(prompt)
            return self.answer

    no = Host("N")
    _, sink = run("Test-AzureStack -Confirm", tmp_path, host=no)
    assert sink.outputs == [] and "Are you sure you want to perform this action?" in no.prompts[0]
    _, sink = run("Test-AzureStack -Confirm", tmp_path, host=Host("Y"))
    assert sink.outputs == [True]
    result, sink = run("Test-AzureStack -Confirm", tmp_path)
    assert result.state == "Failed" and sink.errors[0].FullyQualifiedErrorId == "HostException,Test-AzureStack"
