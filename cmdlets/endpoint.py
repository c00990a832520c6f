"""Close-PrivilegedEndpoint: end the session properly and ship the session transcripts (reference §5.6).

Every transcript kept on the PEP (this session's and those left by sessions that ended with
Exit-PSSession or by closing the console) is copied to the share, then deleted from the PEP;
transcripts of other sessions still open are theirs to ship. If the copy fails, nothing is deleted,
the session stays open and records into a new transcript.
"""
from __future__ import annotations

from typing import Any

from powershell.commands import AS_JOB, Cmdlet, Example, Parameter
from powershell.objects import ErrorCategory
from powershell.pipeline import CommandContext, PipelineStoppedError


class ClosePrivilegedEndpoint(Cmdlet):
    name = "Close-PrivilegedEndpoint"
    synopsis = "Ends the privileged endpoint session and ships the session transcripts to a file share."
    description = (
        "Copies the transcripts of this and earlier PEP sessions to the SMB share given by "
        "-TranscriptsPathDestination, using -Credential, deletes them from the PEP once copied, and ends the "
        "session. Leaving with Exit-PSSession or exit keeps the transcripts on the PEP; they are shipped by the "
        "next successful Close-PrivilegedEndpoint."
    )
    parameters = (
        Parameter("TranscriptsPathDestination", "string", position=0, mandatory=True, syntax_type="object",
                  help="UNC path of the share that receives the transcripts, e.g. \\\\fileshareIP\\SharedFolder."),
        Parameter("Credential", "pscredential", position=1, mandatory=True, syntax_type="object",
                  help="Credential for the share."),
        AS_JOB,
    )
    examples = (
        Example("Close the session and copy the transcripts to a share",
                'Close-PrivilegedEndpoint -TranscriptsPathDestination "\\\\fileshareIP\\SharedFolder" -Credential '
                "contoso\\operator"),
    )

    def invoke(self, ctx: CommandContext, params: dict[str, Any], input: list | None = None) -> None:
        from collector.errors import CollectionStopped, DestinationError
        from collector.sinks.smb import SmbSink
        from common.inuse import in_use

        rs = ctx.runspace
        try:
            sink = SmbSink(params["TranscriptsPathDestination"], params["Credential"], rs.env)
        except DestinationError as e:
            ctx.throw(e.message, e.error_id, ErrorCategory[e.category], target=params["TranscriptsPathDestination"])
        try:
            try:
                sink.preflight()
                sink.open_bundle("")
            except DestinationError as e:
                ctx.throw(e.message, e.error_id, ErrorCategory[e.category], target=sink.description)
            rs.close_transcript()  # this session's transcript is complete from here on
            # sessions still open (pep serve runs many) ship their own transcript when they close
            files = sorted(p for p in rs.env.state.transcripts.glob("*.txt") if p.is_file() and not in_use(p))
            copied = 0
            for path in files:
                ctx.write_verbose(f"Copying {path.name} to {sink.description}")
                try:
                    sink.deliver(path, path.name, stop=ctx.stop_event)
                except CollectionStopped:
                    raise PipelineStoppedError("The pipeline has been stopped.") from None
                except DestinationError as e:
                    rs.start_transcript()
                    ctx.throw(f"{e.message} {copied} of {len(files)} transcripts were copied; the others stay on "
                              "the PEP.", e.error_id, ErrorCategory[e.category], target=sink.description)
                path.unlink()
                copied += 1
        finally:
            sink.close()
        ctx.write_verbose(f"{copied} transcript(s) copied to {sink.description} and deleted from the PEP.")
        rs.exit_requested = True


CMDLETS = (ClosePrivilegedEndpoint,)
