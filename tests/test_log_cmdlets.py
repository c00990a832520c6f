"""The log cmdlets end to end through the runspace, as an operator types them."""
from __future__ import annotations

import zipfile

import pytest
from enginehelp import small_stamp

from powershell.pipeline import ListSink
from session.environment import Environment
from session.runspace import Runspace


@pytest.fixture(scope="module")
def stamp(tmp_path_factory):
    from datetime import datetime, timezone
    return small_stamp(tmp_path_factory.mktemp("stamp") / "s", days=0.5, mb_per_hour=0.3,
                       end=datetime.now(timezone.utc))


def invoke(env, text):
    sink = ListSink()
    result = Runspace(env).invoke(text, sink)
    return result, sink


def test_role_and_resource_provider_together_is_ambiguous(stamp, tmp_path):
    env = Environment(stamp_dir=stamp, state_dir=tmp_path / "st")
    r, s = invoke(env, "Get-AzureStackLog -FilterByRole ACS -FilterByResourceProvider SQLAdapter -OutputPath x")
    assert s.errors[0].FullyQualifiedErrorId == "AmbiguousParameterSet,Get-AzureStackLog"
    assert str(s.errors[0].Exception.Message) == "Parameter set cannot be resolved using the specified named parameters."


@pytest.mark.parametrize("text,error_id", [
    ("Get-AzureStackLog -OutputPath {o} -OutputSharePath \\\\h\\s", "ConflictingDestinations"),
    ("Get-AzureStackLog -OutputSasUri https://a.blob.core.windows.net/c?sig=x -OutputPath {o}", "ConflictingDestinations"),
    ("Get-AzureStackLog -InputSasUri https://a.blob.core.windows.net/c?sig=x", "InputSasUriRequiresOutputPath"),
    ("Get-AzureStackLog -FilterByNode azs-nothere -OutputPath {o}", "NodeNotFound"),
    ('Get-AzureStackLog -FromDate "11/25/2026 10:00" -ToDate "11/25/2026 09:00" -OutputPath {o}', "InvalidTimeWindow"),
    ("Send-AzureStackDiagnosticLog -FilterByRole WAS", "StampNotRegistered"),
])
def test_refused_before_any_work(stamp, tmp_path, text, error_id):
    env = Environment(stamp_dir=stamp, state_dir=tmp_path / "st")
    r, s = invoke(env, text.format(o=tmp_path / "o"))
    assert s.errors and s.errors[0].FullyQualifiedErrorId.split(",")[0] == error_id
    assert "sig=x" not in str(s.errors[0].Exception.Message)
    assert not (tmp_path / "o").exists()


def test_default_folder_is_used_and_printed(stamp, tmp_path):
    env = Environment(stamp_dir=stamp, state_dir=tmp_path / "st")
    r, s = invoke(env, "Get-AzureStackLog -FilterByRole CA,ECE")
    assert not s.errors, s.errors
    default = tmp_path / "st" / "AzureStackLogs"
    assert any(str(default) in str(i) for i in s.informations)
    (bundle,) = default.glob("AzureStackLogs-*")
    assert sorted(z.name for z in bundle.glob("*.zip")) == ["CA_1.zip", "ECE_1.zip"]
    assert any("collected 4 of 4" in str(i) for i in s.informations)


def test_on_demand_logs_are_picked_up_by_the_next_collection(stamp, tmp_path):
    env = Environment(stamp_dir=stamp, state_dir=tmp_path / "st")
    r, s = invoke(env, "Invoke-AzureStackOnDemandLog -Generate -FilterByRole SLB")
    assert {o.ComputerName for o in s.outputs} == {"azs-slb01", "azs-slb02"}
    r, s = invoke(env, f"Get-AzureStackLog -FilterByRole SLB -OutputPath {tmp_path / 'o'}")
    (bundle,) = (tmp_path / "o").glob("AzureStackLogs-*")
    names = zipfile.ZipFile(bundle / "SLB_1.zip").namelist()
    assert any("/OnDemand/SLB_OnDemand_" in n for n in names)


def test_get_cluster_log(stamp, tmp_path):
    env = Environment(stamp_dir=stamp, state_dir=tmp_path / "st")
    r, s = invoke(env, f"Get-ClusterLog -Node azs-node01,azs-node02 -Span 120 -Destination {tmp_path / 'cl'}")
    assert [o.Name for o in s.outputs] == ["azs-node01_cluster.log", "azs-node02_cluster.log"]
    text = (tmp_path / "cl" / "azs-node01_cluster.log").read_text()
    assert "GMT" in text.splitlines()[0] and "::20" in text
    r, s = invoke(env, "Get-ClusterLog -Node azs-acs01")
    assert s.errors[0].FullyQualifiedErrorId == "NodeNotFound,Get-ClusterLog"


@pytest.mark.parametrize("dates,echo", [
    ('-FromDate 0001-01-01', "FromDate 0001-01-01 00:00:00 ToDate"),
    ('-ToDate 0001-01-01', "FromDate 0001-01-01 00:00:00 ToDate 0001-01-01 00:00:00 (UTC)"),
    ('-FromDate 0001-01-01 -ToDate "12/31/9999 23:59:59"', "FromDate 0001-01-01 00:00:00 ToDate 9999-12-31"),
])
def test_dates_at_the_edge_of_the_calendar_are_a_window_not_an_internal_error(stamp, tmp_path, dates, echo):
    """'Everything there is' typed as the earliest and latest dates: clamped like ToUniversalTime(), echoed."""
    env = Environment(stamp_dir=stamp, state_dir=tmp_path / "st")
    r, s = invoke(env, f"Get-AzureStackLog -FilterByRole CA {dates} -OutputPath {tmp_path / 'o'}")
    assert not s.errors, [e.FullyQualifiedErrorId for e in s.errors]
    assert any(echo in str(i) for i in s.informations), s.informations
    assert any("Log collection complete" in str(i) for i in s.informations)


@pytest.mark.parametrize("text", [
    "Invoke-AzureStackOnDemandLog -Generate -FilterByRole SLB -OutputPath {f}",
    "Get-ClusterLog -Node azs-node01 -Destination {f}",
])
def test_a_destination_that_is_a_file_is_refused_with_a_record(stamp, tmp_path, text):
    env = Environment(stamp_dir=stamp, state_dir=tmp_path / "st")
    (tmp_path / "notes.txt").write_text("not a folder")
    r, s = invoke(env, text.format(f=tmp_path / "notes.txt"))
    (err,) = s.errors
    assert err.FullyQualifiedErrorId.startswith("DestinationNotWritable,")
    assert "a file of that name exists" in str(err.Exception.Message)
    assert not s.outputs


def test_an_expired_input_sas_is_refused_before_anything_is_said_or_written(stamp, tmp_path):
    env = Environment(stamp_dir=stamp, state_dir=tmp_path / "st")
    sas = "https://acct.blob.core.windows.net/logs?sv=2024-01-01&sp=rl&se=2020-01-01T00:00:00Z&sr=c&sig=c2VjcmV0"
    result, sink = invoke(env, f'Get-AzureStackLog -OutputPath {tmp_path / "in"} -InputSasUri "{sas}"')
    assert [e.FullyQualifiedErrorId for e in sink.errors] == ["SasUriExpired,Get-AzureStackLog"]
    assert sink.informations == [] and not (tmp_path / "in").exists()
    assert "c2VjcmV0" not in str(sink.errors[0])


def test_an_output_path_that_is_a_file_says_so(stamp, tmp_path):
    env = Environment(stamp_dir=stamp, state_dir=tmp_path / "st")
    (tmp_path / "afile").write_text("x")
    result, sink = invoke(env, f'Get-AzureStackLog -FilterByRole ECE -OutputPath {tmp_path / "afile"}')
    assert [e.FullyQualifiedErrorId for e in sink.errors] == ["OutputPathNotWritable,Get-AzureStackLog"]
    assert "a file of that name exists" in str(sink.errors[0])


def test_a_window_in_the_future_says_there_is_nothing_yet(stamp, tmp_path):
    env = Environment(stamp_dir=stamp, state_dir=tmp_path / "st")
    result, sink = invoke(env, f'Get-AzureStackLog -FilterByRole ECE -FromDate "2099-01-01" -ToDate "2099-01-02" '
                               f'-OutputPath {tmp_path / "o"}')
    assert result.state == "Completed" and not sink.errors
    assert any("in the future: there are no logs to collect yet" in w for w in sink.warnings)
