"""Close-PrivilegedEndpoint: end the session properly and ship the session transcripts (reference §5.6).

Every transcript kept on the PEP (this session's and those left by sessions that ended with
Exit-PSSession, a dropped connection or by closing the console) is copied to the share with its
signed chain file and the stamp's public key; each copy is read back and its SHA-256 compared with
the local file; only then are the local transcripts deleted. Transcripts of other sessions still
open are theirs to ship. If a copy or a check fails, nothing is deleted, the session stays open and
records into a new transcript (docs/transcripts.md).
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from powershell.commands import AS_JOB, Cmdlet, Example, Parameter
from powershell.objects import ErrorCategory
from powershell.pipeline import CommandContext, PipelineStoppedError


class ClosePrivilegedEndpoint(Cmdlet):
    name = "Close-PrivilegedEndpoint"
    synopsis = "Ends the privileged endpoint session and ships the session transcripts to a file share."
    description = (
        "Copies the transcripts of this and earlier PEP sessions to the SMB share given by "
        "-TranscriptsPathDestination, using -Credential, reads every copy back to check it, deletes them from "
        "the PEP once all are checked, and ends the session. Leaving with Exit-PSSession or exit keeps the "
        "transcripts on the PEP; they are shipped by the next successful Close-PrivilegedEndpoint."
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
            key = (rs.transcript.public_key_file, f"transcript-signing-{rs.transcript.key_id}.pub") \
                if rs.transcript else None
            rs.close_transcript()  # this session's transcript is complete from here on
            transcripts: list[Path] = []
            try:
                transcripts = _pending(rs.env.state.transcripts)
                copies = [(p, p.name) for t in transcripts for p in (t, t.with_suffix(CHAIN_SUFFIX)) if p.exists()]
                if key is not None and key[0].exists():
                    copies.append(key)  # a verifier elsewhere needs the stamp's public key
                _copy_and_verify(ctx, sink, copies)
            except CollectionStopped:
                rs.start_transcript()  # nothing deleted; the session goes on recording
                raise PipelineStoppedError("The pipeline has been stopped.") from None
            except DestinationError as e:
                rs.start_transcript()
                ctx.throw(f"{e.message} Nothing was deleted: the {len(transcripts)} transcript(s) stay on the PEP.",
                          e.error_id, ErrorCategory[e.category], target=sink.description)
            except BaseException:
                rs.start_transcript()  # whatever went wrong, the session never goes on unrecorded
                raise
        finally:
            sink.close()
        for transcript in transcripts:  # every copy is verified: only now the PEP lets go of them
            transcript.unlink(missing_ok=True)
            transcript.with_suffix(CHAIN_SUFFIX).unlink(missing_ok=True)
        ctx.write_verbose(f"{len(transcripts)} transcript(s) copied to {sink.description}, verified and deleted "
                          "from the PEP.")
        rs.exit_requested = True


CHAIN_SUFFIX = ".chain"  # a transcript's signed hash chain (session/transcript_chain.py)


def _pending(folder: Path) -> list[Path]:
    """Transcripts no live session is writing: this one's (just closed) and those of sessions that
    ended without Close-PrivilegedEndpoint. Sessions still open (pep serve runs many) ship their own."""
    from common.inuse import in_use

    return sorted(p for p in folder.glob("*.txt") if p.is_file() and not in_use(p))


def _copy_and_verify(ctx: CommandContext, sink: Any, copies: list[tuple[Path, str]]) -> None:
    """Copy every file, then read each copy back and compare SHA-256 with the local file; any
    difference is a DestinationError (TranscriptCopyMismatch), so nothing is deleted."""
    from collector.errors import Category, DestinationError

    for local, name in copies:
        ctx.write_verbose(f"Copying {name} to {sink.description}")
        sink.deliver(local, name, stop=ctx.stop_event)
    for local, name in copies:
        try:
            mine = _sha256(local)
        except OSError as e:  # e.g. shipped and deleted meanwhile by a Close-PrivilegedEndpoint in another session
            raise DestinationError(f"Cannot read '{local.name}' on the PEP again to check its copy: {e.strerror}",
                                   "StagedFileUnreadable", Category.ReadError) from None
        if sink.sha256(name) != mine:
            raise DestinationError(f"The copy of '{name}' on '{sink.description}' does not match the file on the PEP "
                                   "(its SHA-256, read back from the share, differs).", "TranscriptCopyMismatch",
                                   Category.WriteError)
    ctx.write_verbose(f"{len(copies)} file(s) read back from {sink.description}: every SHA-256 matches.")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while data := f.read(1 << 20):
            digest.update(data)
    return digest.hexdigest()


CMDLETS = (ClosePrivilegedEndpoint,)
