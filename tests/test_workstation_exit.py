"""`exit <value>` in the workstation subset: the parser keeps the value as text and the evaluator
evaluates it, so the subset check looks inside it like any other statement (before, a redirection,
an `&` or a [type] outside the subset ran unchecked there, and the script exited 0)."""
from __future__ import annotations

import pytest

from pep.bridge.frontends import workstation_runspace
from powershell.pipeline import ListSink
from session.environment import Environment


@pytest.fixture
def rs(tmp_path):
    runspace = workstation_runspace(Environment(state_dir=tmp_path / "state"))
    yield runspace
    runspace.close()


@pytest.mark.parametrize("value, construct", [
    ("(Get-Date > out.txt)", "redirection"),
    ("(& Get-Date)", "'&' invocation operator"),
    ("([System.IO.File]::ReadAllText('x'))", "[System.IO.File] type"),
    ("$x.$y", "member name given as an expression"),
])
def test_an_exit_value_outside_the_subset_is_refused_before_anything_runs(rs, tmp_path, monkeypatch, value, construct):
    monkeypatch.chdir(tmp_path)
    text = "$ran = 'yes'\nexit " + value
    sink = ListSink()
    result = rs.invoke(text, sink)
    assert result.state == "Failed"
    (record,) = sink.errors
    assert record.FullyQualifiedErrorId == "NotSupportedByWorkstationSubset"
    assert str(record.Exception.Message) == f"The {construct} is not supported by pep run's workstation subset."
    assert "ran" not in rs.variables  # nothing ran
    assert record.position.line == 2 and record.position.column > len("exit ")  # inside the exit value
    assert not (tmp_path / "out.txt").exists()


@pytest.mark.parametrize("text, code", [
    ("exit", 0),
    ("exit 3", 3),
    ("$n = 2\nexit ($n + 5)", 7),
    ("exit ($a = 4)", 4),
    ("exit 'not a number'", 0),
])
def test_exit_values_inside_the_subset_still_set_the_exit_code(rs, text, code):
    sink = ListSink()
    result = rs.invoke(text, sink)
    assert not sink.errors and result.state == "Completed"
    assert rs.exit_code == code
