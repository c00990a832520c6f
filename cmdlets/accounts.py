"""The CloudAdmin account cmdlets (reference §1): New-CloudAdminUser, Remove-CloudAdminUser,
Set-CloudAdminUserPassword, Get-CloudAdminUserList.

Every parameter is an Object, as on the real PEP: a password may come as a SecureString (pypsrp,
`Read-Host -AsSecureString` on a client), a PSCredential (its password is used; New-CloudAdminUser
also takes the user name from it) or typed text. A value left out is asked for as PowerShell asks
for a mandatory parameter, passwords masked; with no user to ask (`pep -c`) the command fails.
The accounts themselves live in the session floor (session/accounts.py); a cmdlet reaches them at
run time through `ctx.runspace.env.accounts`, typed by the small protocol below. The rules
(password policy, last CloudAdmin, self-removal, confirmation) are in docs/accounts.md.
"""
from __future__ import annotations

from typing import Any, NoReturn, Protocol

from powershell.commands import AS_JOB, Cmdlet, Example, Parameter
from powershell.objects import ErrorCategory, PSCredential, PSSecureString, custom_object
from powershell.pipeline import CommandContext, PipelineStoppedError, PromptField

SECURE_STRING = "System.Security.SecureString"
STRING = "System.String"


class AccountStore(Protocol):
    """What the cmdlets need of session.accounts.Accounts. Its refusals carry `message`, `error_id`
    and `category` (an ErrorCategory name)."""

    netbios: str
    domain_fqdn: str

    @property
    def names(self) -> list[str]: ...
    def create(self, name: str, password: str, *, by: str, min_length: int = ...) -> str: ...
    def remove(self, name: str, *, by: str) -> str: ...
    def change_password(self, name: str, current: str, new: str, *, by: str, min_length: int = ...) -> str: ...


def _store(ctx: CommandContext) -> AccountStore:
    store: AccountStore = ctx.runspace.env.accounts
    return store


def _min_length(ctx: CommandContext) -> int:
    return max(1, int(ctx.runspace.env.setting("accounts.min_password_length", 8)))


def _refused(ctx: CommandContext, error: Exception, target: str) -> NoReturn:
    """An account store refusal as the command's terminating error; anything else is a bug."""
    error_id = getattr(error, "error_id", None)
    if error_id is None:
        raise error
    ctx.throw(str(getattr(error, "message", error)), error_id, ErrorCategory[getattr(error, "category", "NotSpecified")],
              target=target)


def _plain(ctx: CommandContext, value: Any, parameter: str) -> str:
    """The text of a password given as SecureString, PSCredential or text."""
    if isinstance(value, PSCredential):
        value = value.Password
    if isinstance(value, PSSecureString):
        return str(value.decrypt())
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    ctx.throw(f"Cannot process argument transformation on parameter '{parameter}'. A password must be a "
              "SecureString, a PSCredential or a string.", "ParameterArgumentTransformationError",
              ErrorCategory.InvalidData, exception_type="System.Management.Automation.ParameterBindingException")


def _name(ctx: CommandContext, value: Any, parameter: str) -> str:
    if isinstance(value, PSCredential):
        value = value.UserName
    if isinstance(value, str) and value.strip():
        return value.strip()
    ctx.throw(f"Cannot validate argument on parameter '{parameter}'. The argument is null or empty, or not a "
              "user name.", "ParameterArgumentValidationError", ErrorCategory.InvalidData,
              exception_type="System.Management.Automation.ParameterBindingValidationException")


def _ask(ctx: CommandContext, params: dict[str, Any], wanted: list[tuple[str, bool]]) -> dict[str, Any]:
    """Fill the parameters left out by asking the user, as PowerShell asks for mandatory ones
    (`secure` ones masked and returned as SecureString)."""
    missing = [(name, secure) for name, secure in wanted if params.get(name) is None]
    if not missing:
        return params
    host = ctx.host
    answers = None
    if host is not None and hasattr(host, "prompt_for_parameters"):
        fields = [PromptField(name, SECURE_STRING if secure else STRING, secure=secure) for name, secure in missing]
        answers = host.prompt_for_parameters(ctx.command, fields)
    if answers is None:
        names = " ".join(name for name, _ in missing)
        ctx.throw(f"Cannot process command because of one or more missing mandatory parameters: {names}.",
                  "MissingMandatoryParameter", ErrorCategory.InvalidArgument,
                  exception_type="System.Management.Automation.ParameterBindingException")
    given = {str(k).lower(): v for k, v in answers.items()}
    filled = dict(params)
    for name, _ in missing:
        if given.get(name.lower()) in (None, ""):
            ctx.throw(f"Cannot process command because of one or more missing mandatory parameters: {name}.",
                      "MissingMandatoryParameter", ErrorCategory.InvalidArgument,
                      exception_type="System.Management.Automation.ParameterBindingException")
        filled[name] = given[name.lower()]
    return filled


def _confirmed(ctx: CommandContext, caption: str, message: str) -> bool:
    """ShouldContinue: a yes/no question to the user; No is the default (a stray Enter removes nothing).
    With no user to ask, the command fails as PowerShell's does."""
    host = ctx.host
    if host is None:
        ctx.throw("A command that prompts the user failed because the host program or the command type does not "
                  f"support user interaction. The host was attempting to request confirmation with the following "
                  f"message: {message} Use -SkipConfirmation to remove without asking.", "HostException",
                  ErrorCategory.NotImplemented, exception_type="System.Management.Automation.Host.HostException")
    choose = getattr(host, "prompt_for_choice", None)
    if choose is not None:  # a remote client: PromptForChoice reaches it as a host call
        index = choose(caption, message, [("&Yes", "Remove the user."), ("&No", "Keep the user.")], 1)
        if index is None:
            ctx.throw("A command that prompts the user failed because the client did not answer the confirmation "
                      "prompt. Use -SkipConfirmation to remove without asking.", "HostException",
                      ErrorCategory.NotImplemented, exception_type="System.Management.Automation.Host.HostException")
        return bool(index == 0)
    answer = host.read_line(f"\n{caption}\n{message}\n[Y] Yes  [N] No  (default is \"N\"): ")
    if answer is None:
        raise PipelineStoppedError("The pipeline has been stopped.")
    return answer.strip().lower() in ("y", "yes")


class NewCloudAdminUser(Cmdlet):
    name = "New-CloudAdminUser"
    synopsis = "Creates a CloudAdmin user that can sign in to the privileged endpoint."
    description = (
        "Creates a new CloudAdmin account with the given password. The password must meet the password policy: at "
        "least 8 characters (accounts.min_password_length), characters from three of upper-case letters, lower-case "
        "letters, digits and symbols, and not the user name. The new user can sign in at once. Parameters left "
        "out are prompted for; passwords are read masked."
    )
    parameters = (
        Parameter("Password", "object", position=0, syntax_type="object",
                  help="The new user's password: a SecureString, a PSCredential or text."),
        Parameter("UserName", "object", position=1, syntax_type="object",
                  help="The new user's name (up to 20 characters), optionally as AZURESTACK\\name."),
        AS_JOB,
    )
    examples = (
        Example("Create a CloudAdmin user, the password prompted for", "New-CloudAdminUser -UserName Operator2"),
    )

    def invoke(self, ctx: CommandContext, params: dict[str, Any], input: list[Any] | None = None) -> None:
        if params.get("UserName") is None and isinstance(params.get("Password"), PSCredential):
            params["UserName"] = params["Password"].UserName
        params = _ask(ctx, params, [("UserName", False), ("Password", True)])
        name = _name(ctx, params["UserName"], "UserName")
        password = _plain(ctx, params["Password"], "Password")
        try:
            created = _store(ctx).create(name, password, by=ctx.runspace.user, min_length=_min_length(ctx))
        except Exception as e:
            _refused(ctx, e, name)
        ctx.write_verbose(f"Created the CloudAdmin user {created}.")


class RemoveCloudAdminUser(Cmdlet):
    name = "Remove-CloudAdminUser"
    synopsis = "Removes a CloudAdmin user."
    description = (
        "Removes a CloudAdmin account; it can no longer sign in (sessions it has open run on until they end). "
        "The last CloudAdmin user cannot be removed, and a session cannot remove the user it is signed in as. "
        "Without -SkipConfirmation the command asks first."
    )
    parameters = (
        Parameter("UserName", "object", position=0, syntax_type="object", help="The user to remove."),
        Parameter("SkipConfirmation", "switch", help="Remove without asking for confirmation."),
        AS_JOB,
    )
    examples = (
        Example("Remove a CloudAdmin user without a confirmation prompt",
                "Remove-CloudAdminUser -UserName Operator2 -SkipConfirmation"),
    )

    def invoke(self, ctx: CommandContext, params: dict[str, Any], input: list[Any] | None = None) -> None:
        params = _ask(ctx, params, [("UserName", False)])
        name = _name(ctx, params["UserName"], "UserName")
        store = _store(ctx)
        if not params.get("SkipConfirmation") and not _confirmed(
                ctx, "Remove-CloudAdminUser", f"Are you sure you want to remove the CloudAdmin user '{name}'?"):
            ctx.write_verbose(f"The CloudAdmin user '{name}' was not removed.")
            return
        try:
            removed = store.remove(name, by=ctx.runspace.user)
        except Exception as e:
            _refused(ctx, e, name)
        ctx.write_verbose(f"Removed the CloudAdmin user {removed}.")


class SetCloudAdminUserPassword(Cmdlet):
    name = "Set-CloudAdminUserPassword"
    synopsis = "Changes the password of a CloudAdmin user."
    description = (
        "Changes a CloudAdmin user's password after checking the current one. The new password must meet the "
        "password policy and differ from the current one; it is in effect for every sign-in at once. A locked-out "
        "account stays locked until its lockout ends."
    )
    parameters = (
        Parameter("UserName", "object", position=0, syntax_type="object", help="The user whose password changes."),
        Parameter("CurrentPassword", "object", position=1, syntax_type="object",
                  help="The current password: a SecureString, a PSCredential or text."),
        Parameter("NewPassword", "object", position=2, syntax_type="object",
                  help="The new password: a SecureString, a PSCredential or text."),
        AS_JOB,
    )
    examples = (
        Example("Change a password, both passwords prompted for", "Set-CloudAdminUserPassword -UserName CloudAdmin"),
    )

    def invoke(self, ctx: CommandContext, params: dict[str, Any], input: list[Any] | None = None) -> None:
        params = _ask(ctx, params, [("UserName", False), ("CurrentPassword", True), ("NewPassword", True)])
        name = _name(ctx, params["UserName"], "UserName")
        current = _plain(ctx, params["CurrentPassword"], "CurrentPassword")
        new = _plain(ctx, params["NewPassword"], "NewPassword")
        try:
            changed = _store(ctx).change_password(name, current, new, by=ctx.runspace.user,
                                                  min_length=_min_length(ctx))
        except Exception as e:
            _refused(ctx, e, name)
        ctx.write_verbose(f"Changed the password of {changed}.")


class GetCloudAdminUserList(Cmdlet):
    name = "Get-CloudAdminUserList"
    synopsis = "Lists the CloudAdmin users."
    output_type = "AzureStack.CloudAdminUser"
    parameters = (AS_JOB,)
    examples = (Example("List the CloudAdmin users", "Get-CloudAdminUserList"),)

    def invoke(self, ctx: CommandContext, params: dict[str, Any], input: list[Any] | None = None) -> None:
        store = _store(ctx)
        for name in sorted(store.names, key=str.lower):
            ctx.write_output(custom_object("AzureStack.CloudAdminUser", UserName=f"{store.netbios}\\{name}",
                                           UserPrincipalName=f"{name}@{store.domain_fqdn}"))


CMDLETS = (NewCloudAdminUser, RemoveCloudAdminUser, SetCloudAdminUserPassword, GetCloudAdminUserList)
