"""The declarative cmdlet model: one definition per cmdlet, from which binding, Get-Help,
Get-Command -Syntax and tab completion are all derived.

A cmdlet is a subclass of Cmdlet with class attributes describing its real signature and an
`invoke` method that does the work. Parameter types are PowerShell type names (see TYPES) so the
binder knows how to convert and help knows what to print.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from powershell.pipeline import CommandContext

# PowerShell type names the binder converts to, with the Python value they become.
TYPES = {
    "string": "System.String",                       # str
    "string[]": "System.String[]",                   # list[str]
    "int": "System.Int32",                           # int
    "int[]": "System.Int32[]",                       # list[int]
    "long": "System.Int64",                          # int
    "double": "System.Double",                       # float
    "bool": "System.Boolean",                        # bool
    "switch": "System.Management.Automation.SwitchParameter",  # bool
    "datetime": "System.DateTime",                   # datetime (tz-aware when known, else naive = local)
    "timespan": "System.TimeSpan",                   # timedelta
    "uri": "System.Uri",                             # str
    "pscredential": "System.Management.Automation.PSCredential",  # psrpcore PSCredential
    "securestring": "System.Security.SecureString",  # psrpcore PSSecureString
    "scriptblock": "System.Management.Automation.ScriptBlock",    # never bindable in NoLanguage
    "hashtable": "System.Collections.Hashtable",     # dict
    "pssession": "System.Management.Automation.Runspaces.PSSession",      # a session object (workstation side)
    "pssession[]": "System.Management.Automation.Runspaces.PSSession[]",
    "object": "System.Object",                       # value as given
    "object[]": "System.Object[]",                   # list
}


@dataclass(frozen=True)
class Parameter:
    """One parameter of a cmdlet's signature.

    sets: names of the parameter sets it belongs to; empty means all sets ("__AllParameterSets").
    position: 0-based position for positional binding, None for named-only.
    mandatory: mandatory in every set it belongs to.
    syntax_type: the type shown by Get-Command -Syntax / Get-Help when it differs from `type`
      (the real PEP declares most parameters as Object but we still convert, e.g. dates).
    """

    name: str
    type: str = "string"
    position: int | None = None
    mandatory: bool = False
    sets: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    validate_set: tuple[str, ...] = ()
    validate_pattern: str | None = None
    validate_range: tuple[float, float] | None = None
    validate_not_null_or_empty: bool = False
    value_from_pipeline: bool = False
    value_from_remaining_arguments: bool = False  # takes positional arguments left over (Write-Host a b c)
    help: str = ""
    default: str | None = None  # default as shown in help (text), e.g. "240" or "(Get-Date).AddHours(-4)"
    syntax_type: str | None = None
    accepts_wildcards: bool = False  # shown as "Accept wildcard characters?" in Get-Help

    @property
    def is_switch(self) -> bool:
        return self.type == "switch"

    @property
    def ps_type(self) -> str:
        return TYPES[self.type]

    @property
    def display_type(self) -> str:
        """Short type shown in syntax: String, String[], Int32, DateTime, Object, ..."""
        full = TYPES.get(self.syntax_type or self.type, self.syntax_type or self.type)
        return full.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class Example:
    title: str
    code: str
    remarks: str = ""


# Windows PowerShell 5.1's ActionPreference values (Break came with PowerShell 7).
ACTION_PREFERENCES = ("SilentlyContinue", "Stop", "Continue", "Inquire", "Ignore", "Suspend")

# The common parameters every cmdlet accepts, in PowerShell's order, with their aliases.
COMMON_PARAMETERS: tuple[Parameter, ...] = (
    Parameter("Verbose", "switch", aliases=("vb",)),
    Parameter("Debug", "switch", aliases=("db",)),
    Parameter("ErrorAction", "string", aliases=("ea",),
              validate_set=ACTION_PREFERENCES),
    Parameter("WarningAction", "string", aliases=("wa",),
              validate_set=ACTION_PREFERENCES),
    Parameter("InformationAction", "string", aliases=("infa",),
              validate_set=ACTION_PREFERENCES),
    Parameter("ErrorVariable", "string", aliases=("ev",)),
    Parameter("WarningVariable", "string", aliases=("wv",)),
    Parameter("InformationVariable", "string", aliases=("iv",)),
    Parameter("OutVariable", "string", aliases=("ov",)),
    Parameter("OutBuffer", "int", aliases=("ob",)),
    Parameter("PipelineVariable", "string", aliases=("pv",)),
)
SHOULD_PROCESS_PARAMETERS: tuple[Parameter, ...] = (
    Parameter("WhatIf", "switch", aliases=("wi",)),
    Parameter("Confirm", "switch", aliases=("cf",)),
)
# Every PEP cmdlet declares -AsJob; the runspace runs the command in the foreground and says so.
AS_JOB = Parameter(
    "AsJob", "switch",
    help="Accepted for compatibility. Jobs are not supported by this emulator: the command runs in the "
         "foreground and writes a warning.")
COMMON_PARAMETER_NAMES = frozenset(p.name for p in COMMON_PARAMETERS + SHOULD_PROCESS_PARAMETERS)


class Cmdlet:
    """Base of every cmdlet definition. Subclasses set the class attributes and implement invoke()."""

    name: ClassVar[str] = ""
    parameters: ClassVar[tuple[Parameter, ...]] = ()
    default_parameter_set: ClassVar[str | None] = None
    supports_should_process: ClassVar[bool] = False
    synopsis: ClassVar[str] = ""
    description: ClassVar[str] = ""
    examples: ClassVar[tuple[Example, ...]] = ()
    output_type: ClassVar[str] = ""
    aliases: ClassVar[tuple[str, ...]] = ()   # command aliases (e.g. "gcm" for Get-Command)
    accepts_pipeline_input: ClassVar[bool] = False

    def invoke(self, ctx: CommandContext, params: dict[str, Any], input: list[Any] | None = None) -> None:
        """Do the work in `ctx`; `params` maps each bound parameter's real name (not the prefix
        typed) to its converted value; common parameters are not included (they are applied to
        ctx). `input` is the previous pipeline element's output, or None when this command is first."""
        raise NotImplementedError

    # -- derived metadata ------------------------------------------------------------------
    @classmethod
    def all_parameters(cls) -> tuple[Parameter, ...]:
        """Declared parameters, then common ones (and WhatIf/Confirm when declared)."""
        extra = SHOULD_PROCESS_PARAMETERS if cls.supports_should_process else ()
        return tuple(cls.parameters) + COMMON_PARAMETERS + extra

    @classmethod
    def parameter_sets(cls) -> list[str]:
        """Parameter set names in declaration order; ["__AllParameterSets"] when none declared."""
        names: list[str] = []
        for p in cls.parameters:
            for s in p.sets:
                if s not in names:
                    names.append(s)
        return names or ["__AllParameterSets"]

    @classmethod
    def parameters_in_set(cls, set_name: str) -> list[Parameter]:
        return [p for p in cls.parameters if not p.sets or set_name in p.sets]

    @classmethod
    def find_parameter(cls, name: str) -> Parameter | None:
        """Exact (case-insensitive) name or alias lookup; prefix matching is the binder's job."""
        low = name.lower()
        for p in cls.all_parameters():
            if p.name.lower() == low or low in (a.lower() for a in p.aliases):
                return p
        return None

    @classmethod
    def noun(cls) -> str:
        return cls.name.split("-", 1)[1] if "-" in cls.name else ""

    @classmethod
    def verb(cls) -> str:
        return cls.name.split("-", 1)[0] if "-" in cls.name else ""


def names(cmdlets: Iterable[type[Cmdlet]]) -> list[str]:
    return [c.name for c in cmdlets]
