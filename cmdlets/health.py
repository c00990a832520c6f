"""Test-AzureStack: validates the stamp's health (reference §3).

Returns $true when no test fails and $false otherwise (with -DetailedResults, one object per test
and an overall one). Each test prints "<display name>  PASS|WARN|FAIL" to the host, a format the
real cmdlet shows only as a screenshot (reference §3.4): our choice, written down in docs/behaviour.md.
Results come from the live health model (collector.health over collector.healthmodel: faults from
`pep fault`, seeds from configuration). Each run leaves its log where Get-AzureStackLog collects the
ERCS VM's logs (role SeedRing), as the real cmdlet's logs are part of a collection (reference §3.4).
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from collector import health
from powershell.commands import AS_JOB, Cmdlet, Example, Parameter
from powershell.objects import ErrorCategory, custom_object
from powershell.pipeline import CommandContext

_TESTS = tuple(name for name, _ in health.CATEGORIES)


class TestAzureStack(Cmdlet):
    name = "Test-AzureStack"
    supports_should_process = True
    synopsis = "Validates the health of the Azure Stack Hub stamp."
    description = (
        "Runs the health tests of the stamp (the Default group unless -Group or -Include says otherwise) and "
        "returns $true when no test failed, $false otherwise. -DetailedResults returns the status of each "
        "test and the overall result instead of a Boolean. In the UpdateReadiness and SecretRotationReadiness "
        "groups a warning is a blocker and is reported as a failure."
    )
    output_type = "System.Boolean"
    parameters = (
        Parameter("BackupShareCredential", "pscredential", syntax_type="object",
                  help="Credential for the backup share tested by AzsBackupShareAccessibility.",
                  default="[PSCredential]::Empty"),
        Parameter("Include", "string[]", syntax_type="object", validate_set=_TESTS,
                  help="Test categories to run (comma list)."),
        Parameter("DetailedResults", "switch", help="Return pass/fail/warning per test and overall instead of a Boolean."),
        Parameter("ServiceAdminCredentials", "pscredential", syntax_type="object",
                  help="Cloud administrator (UPN) for the cloud-scenario tests (AzsScenarios)."),
        Parameter("List", "switch", help="List the available test categories."),
        Parameter("Group", "string", syntax_type="object", validate_set=tuple(health.GROUPS), default="Default",
                  help="Default, UpdateReadiness or SecretRotationReadiness."),
        Parameter("DoNotDeployTenantVm", "switch", help="Skip the tenant VM that the scenario tests deploy."),
        Parameter("Repair", "switch", help="Attempt repairs where a test supports it."),
        Parameter("Ignore", "string[]", syntax_type="object", validate_set=_TESTS, help="Test categories to exclude."),
        Parameter("TimeoutSeconds", "int", syntax_type="object", validate_range=(1, 86400), default="1800",
                  help="Time allowed for each group."),
        Parameter("AdminCredential", "pscredential", syntax_type="object", help="Administrator credential."),
        Parameter("BackupSharePath", "string", syntax_type="object",
                  help="UNC path of the backup share to test with AzsBackupShareAccessibility."),
        Parameter("UseRunners", "switch", help="Run the tests through runners."),
        Parameter("DisableConsoleOutput", "switch", help="Do not print per-test results to the console."),
        AS_JOB,
    )
    examples = (
        Example("Run the default health tests", "Test-AzureStack"),
        Example("Check whether the stamp can be updated", "Test-AzureStack -Group UpdateReadiness"),
        Example("Run two categories with detailed results",
                "Test-AzureStack -Include AzsControlPlane, AzsDefenderSummary -DetailedResults"),
    )

    def invoke(self, ctx: CommandContext, params: dict[str, Any], input: list | None = None) -> None:
        if params.get("List"):
            for name, display in health.CATEGORIES:
                ctx.write_output(custom_object("AzureStack.TestCategory", Name=name, DisplayName=f"Azure Stack Hub {display}"))
            return
        group = params.get("Group", "Default")
        names = list(params.get("Include") or health.GROUPS[group])
        if not params.get("Include") and group == "Default":
            if params.get("ServiceAdminCredentials") is not None:
                names.append("AzsScenarios")
            if params.get("BackupSharePath"):
                names.append("AzsBackupShareAccessibility")
        ignore = {n.lower() for n in params.get("Ignore") or ()}
        names = [n for n in names if n.lower() not in ignore]
        stamp = ctx.runspace.env.stamp
        if not ctx.should_process(stamp.name):
            return
        quiet = bool(params.get("DisableConsoleOutput"))
        if not quiet:
            ctx.write_host("Starting Test-AzureStack")
        started = datetime.now(timezone.utc)
        results = health.evaluate(ctx.runspace.env, names, started)
        if "AzsBackupShareAccessibility" in names:
            results = [self._backup_share(ctx, params) if r.name == "AzsBackupShareAccessibility" else r for r in results]
        blocking_warnings = group in health.WARNINGS_ARE_ERRORS
        for i, result in enumerate(results):
            ctx.check_stopped()
            ctx.write_progress("Test-AzureStack", f"Running {result.name}", percent=int(100 * i / max(1, len(results))))
            ctx.write_verbose(f"Launching {result.name}")
            status = "FAIL" if (result.status == "WARN" and blocking_warnings) else result.status
            if not quiet:
                ctx.write_host(f"{result.display_name:<60} {status}")
            if status == "FAIL":
                ctx.write_error(f"{result.display_name}: {result.detail}", f"{result.name}Failed",
                                ErrorCategory.InvalidResult, target=result.name)
            elif status == "WARN":
                ctx.write_warning(f"{result.display_name}: {result.detail}")
        ctx.write_progress("Test-AzureStack", "Completed", completed=True)
        self._write_log(ctx, results, group, started, blocking_warnings)
        failed = [r for r in results if r.status == "FAIL" or (blocking_warnings and r.status == "WARN")]
        if not quiet:
            ctx.write_host("Test-AzureStack completed " + ("with failures" if failed else "successfully"))
        if params.get("DetailedResults"):
            for r in results:
                ctx.write_output(custom_object("AzureStack.TestResult", Name=r.name, DisplayName=r.display_name,
                                               Result=r.status, Details=r.detail))
            ctx.write_output(custom_object("AzureStack.TestSummary", Group=group, Tests=len(results),
                                           Failed=len(failed), Result="FAIL" if failed else "PASS"))
            return
        ctx.write_output(not failed)

    def _write_log(self, ctx: CommandContext, results: list[health.TestResult], group: str, started: datetime,
                   blocking_warnings: bool) -> None:
        """Leave the run's log in the stamp's logs (the embedded stamp is generated first if it does not
        exist yet, as the first Get-AzureStackLog does)."""
        from collector.engine import stamp_root
        from collector.healthmodel import model_stamp

        env = ctx.runspace.env
        text = health.validation_log_text(results, group, started, datetime.now(timezone.utc), blocking_warnings)
        try:
            path = health.write_validation_log(stamp_root(env), model_stamp(env).ercs_name, text, started)
        except OSError as e:
            ctx.write_warning(f"Could not write the Test-AzureStack log: {e.strerror or e}")
            return
        ctx.write_verbose(f"Test-AzureStack log: {path.name}")

    def _backup_share(self, ctx: CommandContext, params: dict[str, Any]) -> health.TestResult:
        """The one test that touches something real: log on to the backup share and write a marker."""
        try:
            from collector.errors import DestinationError
            from collector.sinks.smb import SmbSink
        except ImportError:
            return health.TestResult("AzsBackupShareAccessibility", "FAIL", "SMB support is not available.")
        credential = params.get("BackupShareCredential")
        if credential is None:
            return health.TestResult("AzsBackupShareAccessibility", "FAIL", "-BackupShareCredential is required.")
        try:
            sink = SmbSink(params["BackupSharePath"], credential, ctx.runspace.env)
            try:
                sink.preflight()
            finally:
                sink.close()
        except DestinationError as e:
            return health.TestResult("AzsBackupShareAccessibility", "FAIL", e.message)
        return health.TestResult("AzsBackupShareAccessibility", "PASS")


CMDLETS = (TestAzureStack,)
