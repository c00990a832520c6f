"""The workstation cmdlets of `pep run` / `pep connect`: what an operator's script uses around
PowerShell remoting to reach the PEP (dates, credentials, sessions, Invoke-Command, host output).

Signatures follow Windows PowerShell 5.1 for the parameters operators use; parameters outside that
are not declared, so a script that uses one fails at binding with PowerShell's own error.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from powershell.commands import Cmdlet, Example, Parameter
from powershell.objects import ErrorCategory, PSCredential, PSSecureString, custom_object, error_record
from powershell.pipeline import CommandContext, PipelineState
from powershell.text import is_collection, to_display

AUTH_SET = ("Default", "Basic", "Negotiate", "NegotiateWithImplicitCredential", "Credssp", "Digest", "Kerberos")
COLORS = ("Black", "DarkBlue", "DarkGreen", "DarkCyan", "DarkRed", "DarkMagenta", "DarkYellow", "Gray", "DarkGray",
          "Blue", "Green", "Cyan", "Red", "Magenta", "Yellow", "White")
CONNECT_PARAMETERS = (
    Parameter("Credential", "pscredential", help="A user account that has permission to connect, e.g. "
              "AZURESTACK\\CloudAdmin."),
    Parameter("Port", "int", validate_range=(1, 65535), help="The WinRM port (default 5985, or 5986 with -UseSSL)."),
    Parameter("UseSSL", "switch", help="Connect over HTTPS."),
    Parameter("ConfigurationName", "string", help="The session configuration; PrivilegedEndpoint for the PEP."),
    Parameter("Authentication", "string", validate_set=AUTH_SET,
              help="Default, Negotiate or Basic (the others are refused by pep's bridge)."),
    Parameter("SessionOption", "object", syntax_type="PSSessionOption",
              help="Options from New-PSSessionOption (culture, certificate checks, timeouts)."),
)


def _cmd_error(ctx: CommandContext, message: str, error_id: str, category: ErrorCategory, exception_type: str,
               target: Any = None, terminating: bool = False) -> None:
    """An error whose FullyQualifiedErrorId names the .NET command class, as PowerShell's own cmdlets do."""
    from powershell.pipeline import TerminatingError

    record = error_record(message, error_id, category, exception_type=exception_type, target=target)
    record.CategoryInfo.Activity = ctx.command
    if terminating:
        raise TerminatingError(record)
    ctx.write_error(record)


def _class_id(error_id: str, class_name: str) -> str:
    return f"{error_id},Microsoft.PowerShell.Commands.{class_name}"


# ----- dates -------------------------------------------------------------------------------------

class GetDate(Cmdlet):
    name = "Get-Date"
    synopsis = "Gets the current date and time."
    output_type = "System.DateTime"
    default_parameter_set = "net"
    parameters = (
        Parameter("Date", "datetime", position=0, value_from_pipeline=True, aliases=("LastWriteTime",),
                  help="The date and time to use instead of now."),
        Parameter("Year", "int"), Parameter("Month", "int"), Parameter("Day", "int"), Parameter("Hour", "int"),
        Parameter("Minute", "int"), Parameter("Second", "int"), Parameter("Millisecond", "int"),
        Parameter("Format", "string", sets=("net",), help=".NET format, e.g. yyyyMMdd-HHmm or o."),
        Parameter("UFormat", "string", sets=("UFormat",), help="Unix format, e.g. %Y-%m-%d."),
    )
    examples = (Example("Eight hours ago", "(Get-Date).AddHours(-8)"),)

    def invoke(self, ctx, params, input=None):
        from powershell.language.workstation import dates

        values = [params["Date"]] if "Date" in params else [v for v in input or [] if isinstance(v, datetime)]
        for value in values or [dates.now_local()]:
            value = _adjust(value, params)
            if params.get("Format"):
                ctx.write_output(dates.dotnet_format(value, params["Format"]))
            elif params.get("UFormat"):
                ctx.write_output(dates.uformat(value, params["UFormat"]))
            else:
                ctx.write_output(value)


def _adjust(value: datetime, params: dict[str, Any]) -> datetime:
    parts = {"Year": "year", "Month": "month", "Day": "day", "Hour": "hour", "Minute": "minute", "Second": "second"}
    changes = {py: params[ps] for ps, py in parts.items() if ps in params}
    if "Millisecond" in params:
        changes["microsecond"] = params["Millisecond"] * 1000
    return value.replace(**changes) if changes else value


# ----- credentials -------------------------------------------------------------------------------

class GetCredential(Cmdlet):
    name = "Get-Credential"
    synopsis = "Gets a credential object based on a user name and password."
    output_type = "System.Management.Automation.PSCredential"
    default_parameter_set = "CredentialSet"
    parameters = (
        Parameter("Credential", "pscredential", position=0, sets=("CredentialSet",),
                  help="A user name (the password is prompted for) or a credential."),
        Parameter("Message", "string", sets=("MessageSet",), help="Text shown before the prompt."),
        Parameter("UserName", "string", position=0, sets=("MessageSet",), help="The user name to prompt the password for."),
        Parameter("Title", "string", sets=("MessageSet",)),
    )
    examples = (Example("A share credential", "$shareCred = Get-Credential"),)

    def invoke(self, ctx, params, input=None):
        if params.get("Credential") is not None:
            ctx.write_output(params["Credential"])
            return
        host = ctx.host
        user = params.get("UserName")
        if host is not None and params.get("Message"):
            ctx.write_host(params["Message"])
        answer_user = user if user else (host.read_line("User: ") if host is not None else None)
        password = None
        if answer_user:
            password = host.read_line(f"Password for user {answer_user}: ", secure=True) if host is not None else None
        if not answer_user or password is None:
            _cmd_error(ctx, "Cannot process command because of one or more missing mandatory parameters: Credential.",
                       _class_id("CouldNotPromptForCredential", "GetCredentialCommand"), ErrorCategory.InvalidArgument,
                       "System.Management.Automation.ParameterBindingException", terminating=True)
        secure = password if isinstance(password, PSSecureString) else PSSecureString(str(password))
        ctx.write_output(PSCredential(UserName=str(answer_user), Password=secure))


class ConvertToSecureString(Cmdlet):
    name = "ConvertTo-SecureString"
    synopsis = "Converts a plain text string to a secure string."
    output_type = "System.Security.SecureString"
    default_parameter_set = "Secure"
    parameters = (
        Parameter("String", "string", position=0, mandatory=True, value_from_pipeline=True,
                  help="The string to convert."),
        Parameter("AsPlainText", "switch", position=1, sets=("PlainText",), help="The string is plain text."),
        Parameter("Force", "switch", position=2, sets=("PlainText",), help="Confirms you understand -AsPlainText."),
    )
    examples = (Example("A password for a credential",
                        '$pw = ConvertTo-SecureString "P@ssw0rd" -AsPlainText -Force'),)

    def invoke(self, ctx, params, input=None):
        klass = "ConvertToSecureStringCommand"
        if not params.get("AsPlainText"):
            _cmd_error(ctx, "Key not valid for use in specified state. (pep run cannot decrypt a Windows DPAPI "
                       "string; use -AsPlainText -Force.)",
                       _class_id("ImportSecureString_InvalidArgument_CryptographicError", klass),
                       ErrorCategory.InvalidArgument, "System.Security.Cryptography.CryptographicException",
                       terminating=True)
        if not params.get("Force"):
            _cmd_error(ctx, "The system cannot protect plain text input. To suppress this warning and convert the "
                       "plain text to a SecureString, reissue the command specifying the Force parameter. For more "
                       "information ,type: get-help ConvertTo-SecureString.",
                       _class_id("ImportSecureString_InvalidArgument", klass), ErrorCategory.InvalidArgument,
                       "System.ArgumentException", terminating=True)
        ctx.write_output(PSSecureString(params["String"]))


_CREDENTIAL_TYPES = {"pscredential", "system.management.automation.pscredential", "management.automation.pscredential"}


class NewObject(Cmdlet):
    name = "New-Object"
    synopsis = "Creates a PSCredential (the only type pep run's workstation subset creates)."
    parameters = (
        Parameter("TypeName", "string", position=0, mandatory=True, help="System.Management.Automation.PSCredential"),
        Parameter("ArgumentList", "object[]", position=1, aliases=("Args",), help="User name and SecureString."),
    )
    examples = (Example("A credential", "New-Object System.Management.Automation.PSCredential($user, $password)"),)

    def invoke(self, ctx, params, input=None):
        klass = "NewObjectCommand"
        type_name = params["TypeName"]
        if type_name.lower() not in _CREDENTIAL_TYPES:
            _cmd_error(ctx, f"New-Object can create only System.Management.Automation.PSCredential in pep run's "
                       f"workstation subset, not '{type_name}'.", _class_id("NotSupportedByWorkstationSubset", klass),
                       ErrorCategory.NotImplemented, "System.NotSupportedException", target=type_name,
                       terminating=True)
        args = params.get("ArgumentList") or []
        if len(args) != 2:
            _cmd_error(ctx, f'Cannot find an overload for "PSCredential" and the argument count: "{len(args)}".',
                       _class_id("ConstructorInvokedThrowException", klass), ErrorCategory.InvalidOperation,
                       "System.Management.Automation.MethodException", terminating=True)
        user, secure = args
        if not isinstance(secure, PSSecureString):
            from powershell.language.workstation.values import to_text
            from powershell.language.workstation.values import type_name as tn

            _cmd_error(ctx, f'Cannot convert argument "password", with value: "{to_text(secure)}", for "PSCredential" '
                       f'to type "System.Security.SecureString": "Cannot convert the "{to_text(secure)}" value of type '
                       f'"{tn(secure)}" to type "System.Security.SecureString"."',
                       _class_id("ConstructorInvokedThrowException", klass), ErrorCategory.InvalidOperation,
                       "System.Management.Automation.MethodException", terminating=True)
        ctx.write_output(PSCredential(UserName=str(user), Password=secure))


# ----- sessions ----------------------------------------------------------------------------------

_CULTURE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


class NewPSSessionOption(Cmdlet):
    name = "New-PSSessionOption"
    synopsis = "Creates an object that contains advanced options for a PSSession."
    output_type = "System.Management.Automation.Remoting.PSSessionOption"
    parameters = (
        Parameter("Culture", "string", help="Culture of the remote session, e.g. en-US (the PEP needs en-US)."),
        Parameter("UICulture", "string", help="UI culture of the remote session."),
        Parameter("SkipCACheck", "switch", help="Do not validate the server certificate's issuer (HTTPS)."),
        Parameter("SkipCNCheck", "switch", help="Do not match the certificate name to the host name (HTTPS)."),
        Parameter("SkipRevocationCheck", "switch"),
        Parameter("OperationTimeout", "int", help="Milliseconds (default 180000)."),
        Parameter("OpenTimeout", "int", help="Milliseconds to wait for the session to open (default 180000)."),
        Parameter("IdleTimeout", "int"),
        Parameter("NoEncryption", "switch"),
        Parameter("NoCompression", "switch"),
        Parameter("MaximumRedirection", "int"),
    )
    examples = (Example("The PEP's culture", "New-PSSessionOption -Culture en-US -UICulture en-US"),)

    def invoke(self, ctx, params, input=None):
        from remoting.client import SessionOption

        for key in ("Culture", "UICulture"):
            value = params.get(key)
            if value is not None and not _CULTURE.match(value):
                _cmd_error(ctx, f"Cannot bind parameter '{key}'. Cannot convert value \"{value}\" to type "
                           f"\"System.Globalization.CultureInfo\". Error: \"Culture is not supported.\"",
                           _class_id("CannotConvertArgumentNoMessage", "NewPSSessionOptionCommand"),
                           ErrorCategory.InvalidArgument, "System.Management.Automation.ParameterBindingException",
                           target=value, terminating=True)
        option = SessionOption(
            culture=params.get("Culture"), ui_culture=params.get("UICulture"),
            skip_ca_check=bool(params.get("SkipCACheck")), skip_cn_check=bool(params.get("SkipCNCheck")),
            skip_revocation_check=bool(params.get("SkipRevocationCheck")),
            operation_timeout_ms=params.get("OperationTimeout") or 180000,
            open_timeout_ms=params.get("OpenTimeout") or 180000, no_encryption=bool(params.get("NoEncryption")))
        obj = custom_object(
            "System.Management.Automation.Remoting.PSSessionOption",
            Culture=option.culture or "", UICulture=option.ui_culture or "", SkipCACheck=option.skip_ca_check,
            SkipCNCheck=option.skip_cn_check, SkipRevocationCheck=option.skip_revocation_check,
            OperationTimeout=_timespan_text(option.operation_timeout_ms),
            OpenTimeout=_timespan_text(option.open_timeout_ms), NoEncryption=option.no_encryption)
        obj._session_option = option
        ctx.write_output(obj)


def _timespan_text(ms: int) -> str:
    seconds = ms // 1000
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _option_of(value: Any):
    from remoting.client import SessionOption

    if value is None:
        return SessionOption()
    option = getattr(value, "_session_option", None)
    if isinstance(option, SessionOption):
        return option
    if isinstance(value, SessionOption):
        return value
    return None


def open_sessions(ctx: CommandContext, params: dict[str, Any], computers: list[str]) -> list[Any]:
    """Open one RemoteSession per computer; failures are written as PowerShell's PSSessionOpenFailed
    records (non-terminating, as New-PSSession does) and skipped."""
    from remoting.client import RemoteSession, RemotingError, open_failed_record

    option = _option_of(params.get("SessionOption"))
    if option is None:
        _cmd_error(ctx, "Cannot bind parameter 'SessionOption'. Give the object New-PSSessionOption returns.",
                   "CannotConvertArgument", ErrorCategory.InvalidArgument,
                   "System.Management.Automation.ParameterBindingException", terminating=True)
    insecure = bool(getattr(ctx.runspace, "bridge_insecure", False))
    if insecure:
        option.extra["insecure"] = True
    use_ssl = bool(params.get("UseSSL"))
    port = params.get("Port") or (5986 if use_ssl else 5985)
    auth = params.get("Authentication") or "Default"
    credential = params.get("Credential")
    opened = []
    for computer in computers:
        ctx.check_stopped()
        if credential is None:
            ctx.write_error(_no_credential(computer))
            continue
        if auth == "Basic" and not use_ssl:
            ctx.write_error(_basic_needs_ssl(computer))
            continue
        # With a local host (pep run's terminal), the session's pool brings a host, as Windows
        # PowerShell's sessions do: the remote's prompts (-Confirm, a password, a mandatory
        # parameter) are asked here when Invoke-Command or Enter-PSSession passes that host on.
        session = RemoteSession(computer, port, use_ssl, params.get("ConfigurationName") or "Microsoft.PowerShell",
                                credential, auth, option, interactive=ctx.host is not None)
        try:
            opened.append(session.open())
        except RemotingError as e:
            ctx.write_error(e.record)
        except Exception as e:  # anything unforeseen still ends as PowerShell's open failure
            ctx.write_error(open_failed_record(computer, e))
    return opened


def _no_credential(computer: str):
    from remoting.client import TRANSPORT_EXCEPTION, TROUBLESHOOT

    return error_record(
        f"Connecting to remote server {computer} failed with the following error message : pep has no Windows "
        f"logon session to pass on implicitly; give -Credential (Get-Credential, or New-Object "
        f"System.Management.Automation.PSCredential).{TROUBLESHOOT}",
        "CredentialRequired,PSSessionOpenFailed", ErrorCategory.OpenError, exception_type=TRANSPORT_EXCEPTION,
        target=computer)


def _basic_needs_ssl(computer: str):
    from remoting.client import TRANSPORT_EXCEPTION, TROUBLESHOOT

    return error_record(
        f"Connecting to remote server {computer} failed with the following error message : The WinRM client cannot "
        "process the request. Unencrypted traffic is currently disabled in the client configuration. Change the "
        f"client configuration and try the request again.{TROUBLESHOOT}",
        "UnencryptedTrafficDisabled,PSSessionOpenFailed", ErrorCategory.OpenError,
        exception_type=TRANSPORT_EXCEPTION, target=computer)


def _sessions_from(ctx: CommandContext, value: Any) -> list[Any]:
    from remoting.client import session_of

    items = value if isinstance(value, (list, tuple)) else [value]
    found = []
    for item in items:
        session = session_of(item)
        if session is None:
            from powershell.language.workstation.values import type_name

            _cmd_error(ctx, f"Cannot bind parameter 'Session'. Cannot convert the \"{item}\" value of type "
                       f"\"{type_name(item)}\" to type \"System.Management.Automation.Runspaces.PSSession\".",
                       "CannotConvertArgumentNoMessage", ErrorCategory.InvalidArgument,
                       "System.Management.Automation.ParameterBindingException", target=item, terminating=True)
        found.append(session)
    return found


class NewPSSession(Cmdlet):
    name = "New-PSSession"
    synopsis = "Creates a persistent connection to a local or remote computer."
    output_type = "System.Management.Automation.Runspaces.PSSession"
    parameters = (
        Parameter("ComputerName", "string[]", position=0, aliases=("Cn",), help="ERCS VM name or IP address."),
        Parameter("Name", "string[]"),
    ) + CONNECT_PARAMETERS
    examples = (Example("A PEP session",
                        "$s = New-PSSession -ComputerName 10.0.0.224 -ConfigurationName PrivilegedEndpoint "
                        "-Credential $cred -SessionOption (New-PSSessionOption -Culture en-US -UICulture en-US)"),)

    def invoke(self, ctx, params, input=None):
        from remoting.state import state_of

        computers = params.get("ComputerName") or ["localhost"]
        names = params.get("Name") or []
        for index, session in enumerate(open_sessions(ctx, params, computers)):
            if index < len(names):
                session.name = names[index]
            state_of(ctx.runspace).add(session)
            ctx.write_output(session.to_psobject())


class EnterPSSession(Cmdlet):
    name = "Enter-PSSession"
    synopsis = "Starts an interactive session with a remote computer; the prompt becomes [host]: PS>."
    default_parameter_set = "ComputerName"
    parameters = (
        Parameter("ComputerName", "string", position=0, sets=("ComputerName",), aliases=("Cn",)),
        Parameter("Session", "pssession", position=0, sets=("Session",),
                  validate_not_null_or_empty=True),
    ) + tuple(Parameter(p.name, p.type, validate_range=p.validate_range, validate_set=p.validate_set,
                        syntax_type=p.syntax_type, help=p.help, sets=("ComputerName",)) for p in CONNECT_PARAMETERS)

    def invoke(self, ctx, params, input=None):
        from remoting.state import state_of

        state = state_of(ctx.runspace)
        if params.get("Session") is not None:
            session = _sessions_from(ctx, params["Session"])[0]
            temporary = False
        else:
            opened = open_sessions(ctx, params, [params.get("ComputerName") or "localhost"])
            if not opened:
                return
            session, temporary = opened[0], True
            state.add(session)
        if not session.is_open:
            _cmd_error(ctx, f"The session state for session {session.name}, {session.computer_name} is not equal to "
                       "Open. Enter-PSSession needs an open session.", "EnterPSSessionBrokenSession",
                       ErrorCategory.InvalidArgument, "System.ArgumentException", terminating=True)
        session.temporary = temporary
        state.entered = session


class ExitPSSession(Cmdlet):
    name = "Exit-PSSession"
    synopsis = "Ends an interactive session with a remote computer."

    def invoke(self, ctx, params, input=None):
        from remoting.state import state_of

        state = state_of(ctx.runspace)
        session = state.entered
        state.entered = None
        if session is not None and getattr(session, "temporary", False):
            state.remove(session)
            session.close()
        if state.entered_by_connect:
            ctx.runspace.exit_requested = True


class RemovePSSession(Cmdlet):
    name = "Remove-PSSession"
    synopsis = "Closes one or more PowerShell sessions (PSSessions)."
    default_parameter_set = "Session"
    accepts_pipeline_input = True
    parameters = (
        Parameter("Session", "pssession[]", position=0, mandatory=True, value_from_pipeline=True, sets=("Session",)),
        Parameter("Id", "int[]", sets=("Id",)),
        Parameter("Name", "string[]", sets=("Name",)),
        Parameter("ComputerName", "string[]", sets=("ComputerName",), aliases=("Cn",)),
    )

    def invoke(self, ctx, params, input=None):
        from remoting.state import state_of

        state = state_of(ctx.runspace)
        if params.get("Session") is not None or input:
            targets = _sessions_from(ctx, params.get("Session") if params.get("Session") is not None else input)
        else:
            ids = set(params.get("Id") or [])
            names = {n.lower() for n in params.get("Name") or []}
            computers = {c.lower() for c in params.get("ComputerName") or []}
            targets = [s for s in state.sessions if s.id in ids or s.name.lower() in names
                       or s.computer_name.lower() in computers]
        for session in targets:
            state.remove(session)
            session.close()


# ----- running remotely --------------------------------------------------------------------------

class InvokeCommand(Cmdlet):
    name = "Invoke-Command"
    synopsis = "Runs a script block on remote computers (one pipeline of commands goes as a command, with $using: values)."
    default_parameter_set = "Session"
    parameters = (
        Parameter("Session", "pssession[]", position=0, sets=("Session",), validate_not_null_or_empty=True),
        Parameter("ComputerName", "string[]", position=0, sets=("ComputerName",), aliases=("Cn",)),
        Parameter("ScriptBlock", "object", position=1, mandatory=True, syntax_type="ScriptBlock",
                  aliases=("Command",), help="{ Get-AzureStackLog -FromDate $using:fromDate ... }"),
        Parameter("ArgumentList", "object[]", aliases=("Args",)),
    ) + tuple(Parameter(p.name, p.type, validate_range=p.validate_range, validate_set=p.validate_set,
                        syntax_type=p.syntax_type, help=p.help, sets=("ComputerName",)) for p in CONNECT_PARAMETERS)
    examples = (Example("Collect logs for a window computed locally",
                        "Invoke-Command -Session $s { Get-AzureStackLog -OutputSharePath $using:share "
                        "-OutputShareCredential $using:shareCred -FromDate $using:fromDate -ToDate $using:toDate }"),)

    def invoke(self, ctx, params, input=None):
        from powershell.language.workstation.remoting import plan
        from powershell.language.workstation.values import ScriptBlockValue

        block = params["ScriptBlock"]
        if not isinstance(block, ScriptBlockValue):
            from powershell.language.workstation.values import type_name

            _cmd_error(ctx, f"Cannot bind parameter 'ScriptBlock'. Cannot convert the \"{block}\" value of type "
                       f"\"{type_name(block)}\" to type \"System.Management.Automation.ScriptBlock\".",
                       _class_id("CannotConvertArgumentNoMessage", "InvokeCommandCommand"),
                       ErrorCategory.InvalidArgument, "System.Management.Automation.ParameterBindingException",
                       terminating=True)
        variables = ctx.runspace.variables

        def using_value(name: str) -> Any:
            # unset is not $null: a typo in $using:fromDat must not send $null and widen the window
            if name.lower() not in variables:
                _cmd_error(ctx, f"The value of the using variable '$using:{name}' cannot be retrieved because it "
                           "has not been set in the local session.",
                           _class_id("UsingVariableIsUndefined", "InvokeCommandCommand"), ErrorCategory.InvalidArgument,
                           "System.ArgumentException", target=name, terminating=True)
            return variables[name.lower()]

        what = plan(block.node, block.text, block.source, using_value)
        temporary = []
        if params.get("Session") is not None:
            sessions = _sessions_from(ctx, params["Session"])
        elif params.get("ComputerName"):
            sessions = temporary = open_sessions(ctx, params, params["ComputerName"])
        else:
            _cmd_error(ctx, "Invoke-Command without -Session or -ComputerName runs the block locally, which pep run's "
                       "workstation subset does not do.", _class_id("NotSupportedByWorkstationSubset",
                                                                     "InvokeCommandCommand"),
                       ErrorCategory.NotImplemented, "System.NotSupportedException", terminating=True)
        try:
            for session in sessions:
                ctx.check_stopped()
                sink = _ComputerNameSink(ctx.sink, session.computer_name)
                if what.calls is not None:
                    result = session.invoke_calls(what.calls, sink, ctx.stop_event, input=input, host=ctx.host)
                else:
                    result = session.invoke_script(what.script, sink, ctx.stop_event, input=input,
                                                   arguments=params.get("ArgumentList"), host=ctx.host)
                if result.state == PipelineState.STOPPED:
                    ctx.check_stopped()
        finally:
            for session in temporary:
                session.close()


class _ComputerNameSink:
    """Remote output objects carry PSComputerName, as Invoke-Command adds it."""

    def __init__(self, inner: Any, computer: str):
        self.inner = inner
        self.computer = computer

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def output(self, obj: Any) -> None:
        if getattr(obj, "PSObject", None) is not None and not isinstance(obj, (str, int, float, bool)):
            try:
                from psrpcore.types import add_note_property

                add_note_property(obj, "PSComputerName", self.computer)
            except Exception:  # already there, or a primitive wrapper: leave it as it came
                pass
        self.inner.output(obj)


# ----- host output -------------------------------------------------------------------------------

class WriteHost(Cmdlet):
    name = "Write-Host"
    synopsis = "Writes to the host (the console)."
    accepts_pipeline_input = True
    parameters = (
        Parameter("Object", "object", position=0, value_from_pipeline=True, value_from_remaining_arguments=True,
                  aliases=("Msg", "Message")),
        Parameter("NoNewline", "switch"),
        Parameter("Separator", "object"),
        Parameter("ForegroundColor", "string", validate_set=COLORS),
        Parameter("BackgroundColor", "string", validate_set=COLORS),
    )

    def invoke(self, ctx, params, input=None):
        # 5.1's Write-Host writes each object's ToString() (the session culture: a date as
        # 11/25/2026 8:00:00 AM), enumerating collections and joining with -Separator; text
        # expanded in a string ("$date") was already converted by the invariant rule.
        separator = to_display(params.get("Separator", " "))
        items = [params["Object"]] if "Object" in params else list(input or [])
        ctx.write_host(separator.join(_host_text(item, separator) for item in items))


def _host_text(value: Any, separator: str) -> str:
    if is_collection(value):
        return separator.join(_host_text(v, separator) for v in value)
    return to_display(value)


class WriteOutput(Cmdlet):
    name = "Write-Output"
    synopsis = "Writes objects to the pipeline."
    accepts_pipeline_input = True
    parameters = (
        Parameter("InputObject", "object[]", position=0, mandatory=False, value_from_pipeline=True,
                  value_from_remaining_arguments=True),
        Parameter("NoEnumerate", "switch"),
    )

    def invoke(self, ctx, params, input=None):
        items = params.get("InputObject") if "InputObject" in params else list(input or [])
        if params.get("NoEnumerate") and "InputObject" in params:
            ctx.write_output(items)
            return
        for item in items or []:
            ctx.write_output(item)


CMDLETS = (GetDate, GetCredential, ConvertToSecureString, NewObject, NewPSSessionOption, NewPSSession,
           EnterPSSession, ExitPSSession, RemovePSSession, InvokeCommand, WriteHost, WriteOutput)
