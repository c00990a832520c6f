"""A runspace: one session's policy (visible cmdlets, language mode), its streams and transcript.

Every front end (console, `pep -c`, the PSRP listener, Help + Support) runs commands through
Runspace.invoke (text) or Runspace.invoke_calls (command-form pipelines with typed values).

INTERFACE (stable; implementation lands in this module):

    rs = Runspace(env, language_mode="NoLanguage", host=None, user="AZURESTACK\\CloudAdmin")
    result = rs.invoke("Get-Command -Name Get-*", sink, stop_event=threading.Event())
    result = rs.invoke_calls([CommandCall("Get-AzureStackLog", [CommandArgument("FromDate"),
                              CommandArgument(value=datetime(...))])], sink)
    result.state in ("Completed", "Failed", "Stopped"); result.had_errors; result.terminating_error
    rs.visible_commands() -> list[type[Cmdlet]];  rs.resolve_command("gcm") -> type[Cmdlet] | None
    rs.complete(line, cursor) -> list[str]        # command names, -Parameter names, ValidateSet values
    rs.exit_requested                              # set by Exit-PSSession / exit
    rs.close()                                     # flush and close the transcript
"""
