"""Every command README.md and docs/*.md show is run as it is typed.

The rule (also in docs/testing.md):

* Only fenced code blocks count (```), except blocks in another language (```python,
  ```powershell, ...): those are code, not command lines. Inline `code` in prose is a name, not a
  command to run; a command meant to be typed goes in a block.
* A **pep command** is a block line, or one segment of a line chained with `&&`, that starts with
  `pep ` or `.venv/bin/pep` (the other segments, such as `python3 -m venv .venv` or `pip install`,
  are not run: the test uses the installed package). It runs as `python -m pep ...` in a fresh
  temporary folder with its own state directory (PEP_STATE_DIR); `pep` on its own (the console)
  gets `exit` on its input.
* A **console line** is a block line starting with a PEP prompt, `[azs-ercs01]: PS> `; it runs as
  `pep -c "<the line>"`.
* A **setup line** (`echo '...' > FILE`) runs in the same folder before the lines after it, so a
  configuration file a block writes is there for the `pep` line that reads it.
* `pep serve ...` starts, must print "Listening on", and must exit 0 on SIGTERM. When the line
  gives no `--listen`, the test adds `--listen 127.0.0.1:0` so it cannot meet another listener.
* A **synopsis block** (one of its pep lines shows a placeholder: `<input>`, `[--option]`, or an
  upper-case word such as FILE.ps1, DIR, HOST) describes the syntax and is not run.
* A trailing comment steers a line: `# error: <ErrorId> ...` expects exit code 1 and that id in the
  output; `# not run: <reason>` skips the line (the reason says what it needs). Without one, the
  exit code must be 0. No command may print a Traceback.
* The embedded stamp's logs are generated small for the test (PEP_CONFIG: stamp.days and
  stamp.mb_per_hour), which changes how much there is to collect, not what is typed.
"""
from __future__ import annotations

import json
import os
import queue
import re
import shlex
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL_BLOCKS = {"", "sh", "bash", "shell", "console", "text"}
PROMPT = re.compile(r"^\[[\w.-]+\]: PS> ?(?P<text>.*)$")
COMMENT = re.compile(r"\s+#\s?(?P<comment>.*)$")
PLACEHOLDER = re.compile(r"<[^>]*>|\[[^\]]*\]")
METAVARIABLE = re.compile(r"^[A-Z][A-Z0-9_]*(\.\w+)?$")
TIMEOUT = 300


@dataclass
class Item:
    where: str           # file:line
    kind: str            # pep | console | setup
    text: str            # the command as shown (without its comment)
    error: str | None = None
    skip: str | None = None


@dataclass
class Block:
    where: str
    items: list[Item] = field(default_factory=list)
    synopsis: bool = False


def _split_comment(line: str) -> tuple[str, str]:
    # a comment starts at " #" outside quotes
    quote = None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and i > 0 and line[i - 1].isspace():
            return line[:i].rstrip(), line[i + 1:].strip()
    return line.rstrip(), ""


def _is_pep(segment: str) -> bool:
    return segment.split(" ", 1)[0] in ("pep", ".venv/bin/pep")


def _is_placeholder(segment: str) -> bool:
    if PLACEHOLDER.search(segment):
        return True
    try:
        words = shlex.split(segment, posix=False)
    except ValueError:
        return True
    return any(METAVARIABLE.match(w) for w in words[1:])


def blocks() -> list[Block]:
    found: list[Block] = []
    for doc in DOCS:
        lines = doc.read_text(encoding="utf-8").splitlines()
        inside, info, current = False, "", None
        for number, line in enumerate(lines, 1):
            stripped = line.strip()
            if stripped.startswith("```"):
                if not inside:
                    inside, info = True, stripped[3:].strip().lower()
                    current = Block(f"{doc.name}:{number}")
                else:
                    inside = False
                    if info in SHELL_BLOCKS and current.items:
                        found.append(current)
                continue
            if not inside or info not in SHELL_BLOCKS:
                continue
            where = f"{doc.relative_to(ROOT)}:{number}"
            body, comment = _split_comment(stripped)
            error = skip = None
            if comment.startswith("error:"):
                error = comment[len("error:"):].split()[0].rstrip(",.")
            elif comment.startswith("not run:"):
                skip = comment[len("not run:"):].strip()
            prompt = PROMPT.match(body)
            if prompt:
                current.items.append(Item(where, "console", prompt["text"], error, skip))
                continue
            if body.startswith("echo ") and " > " in body:
                current.items.append(Item(where, "setup", body))
                continue
            for segment in (s.strip() for s in body.split("&&")):
                if _is_pep(segment):
                    current.items.append(Item(where, "pep", segment, error, skip))
                    if _is_placeholder(segment):
                        current.synopsis = True
    return found


BLOCKS = blocks()
RUN = [b for b in BLOCKS if not b.synopsis and any(i.kind != "setup" for i in b.items)]


def _env(state: Path, config: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(PEP_STATE_DIR=str(state), PEP_CONFIG=str(config), PYTHONPATH=str(ROOT), COLUMNS="120")
    return env


def _argv(text: str) -> list[str]:
    words = shlex.split(text)
    return [sys.executable, "-m", "pep", *words[1:]]


def _serve(item: Item, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
    if "--listen" not in argv:
        argv += ["--listen", "127.0.0.1:0"]
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    try:
        while True:
            line = lines.get(timeout=120)
            if line is None:
                pytest.fail(f"{item.where}: `{item.text}` ended before listening:\n{''.join(seen)}")
            seen.append(line)
            if line.startswith("Listening on"):
                break
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    while (line := lines.get(timeout=10)) is not None:
        seen.append(line)
    output = "".join(seen)
    assert "Traceback" not in output, f"{item.where}: {output}"
    assert code == 0, f"{item.where}: `{item.text}` exited {code} after SIGTERM:\n{output}"


def _run(item: Item, cwd: Path, env: dict[str, str]) -> None:
    if item.kind == "setup":
        subprocess.run(["bash", "-c", item.text], cwd=cwd, env=env, check=True, timeout=60)
        return
    stdin = None
    if item.kind == "console":
        argv = [sys.executable, "-m", "pep", "-c", item.text]
    else:
        argv = _argv(item.text)
        if argv[3:4] == ["serve"]:
            _serve(item, argv, cwd, env)
            return
        if len(argv) == 3:
            stdin = "exit\n"  # the console: leave it at once
    feed = {"input": stdin} if stdin is not None else {"stdin": subprocess.DEVNULL}
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT, **feed)
    output = proc.stdout + proc.stderr
    assert "Traceback" not in output, f"{item.where}: {output}"
    if item.error:
        assert proc.returncode == 1 and item.error in output, \
            f"{item.where}: `{item.text}` should fail with {item.error}; exit {proc.returncode}:\n{output}"
    else:
        assert proc.returncode == 0, f"{item.where}: `{item.text}` exited {proc.returncode}:\n{output}"


@pytest.mark.parametrize("block", RUN, ids=[b.where for b in RUN])
def test_the_documented_commands_run_as_shown(tmp_path, block):
    work = tmp_path / "work"
    work.mkdir()
    config = tmp_path / "pep-config.json"
    config.write_text(json.dumps({"stamp": {"days": 0.5, "mb_per_hour": 0.5}}), encoding="utf-8")
    env = _env(tmp_path / "state", config)
    for item in block.items:
        if item.skip is None:
            _run(item, work, env)


def test_the_rule_finds_the_documented_commands():
    """The extraction itself: what it runs, what it reads as a synopsis, what it leaves to a marker."""
    items = {(i.where.split(":")[0], i.kind, i.text): (b, i) for b in BLOCKS for i in b.items}
    run = {(i.where.split(":")[0], i.kind, i.text) for b in RUN for i in b.items if i.skip is None}
    assert ("README.md", "pep", ".venv/bin/pep") in run                       # chained after the install
    assert ("README.md", "console", "Get-Command") in run                     # the tour
    assert ("README.md", "pep", 'pep --stamp big-stamp -c "Get-AzureStackStampInformation"') in run
    assert ("docs/security.md", "pep", "pep serve --config pep.json") in run
    assert ("docs/security.md", "setup",
            """echo '{"collection": {"output_roots": ["/tmp/pep-logs", "/tmp/pep-archive"]}}' > pep.json""") in run
    (block,) = {id(b): b for (doc, kind, text), (b, _) in items.items()
                if doc == "README.md" and text.startswith('pep -c "<input>"')}.values()
    assert block.synopsis and block not in RUN                                # the command-line synopsis
    errors = [i for b in RUN for i in b.items if i.error]
    assert {"ScriptsNotAllowed", "NodeNotFound"} <= {i.error for i in errors}
    skipped = [i for b in BLOCKS for i in b.items if i.skip]
    assert all(i.skip for i in skipped)
    assert len([i for b in RUN for i in b.items if i.skip is None and i.kind != "setup"]) >= 10
