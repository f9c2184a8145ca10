"""How `screenpop replay` prints a :class:`~screenpop.replay.Result`: per agent, then the calls."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

from screenpop.agents import AgentDirectory
from screenpop.replay import Entry, Result, load_recording, replay
from screenpop.settings import Settings

FORMATS = (
    "a `screenpop capture` file or another block capture (### t=+... headers), "
    "or a raw AMI or ESL stream"
)


def replay_file(path: Path, settings: Settings | None, region: str | None, as_json: bool) -> int:
    """`screenpop replay`: 0 with the result on stdout; 2 (and why, on stderr) for a file that
    cannot be read or is no known capture. Never a traceback for a bad file."""
    try:
        content = path.read_bytes()
    except OSError as exc:
        print(f"screenpop replay: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    rec = load_recording(content)
    if rec is None:
        print(f"screenpop replay: {path} is no capture screenpop can read; it reads {FORMATS}",
              file=sys.stderr)  # fmt: skip
        return 2
    match = AgentDirectory(settings.agents).match if settings is not None else None
    default = settings.phone.default_region if settings is not None else "US"
    result = replay(rec, match, (region or default).upper())
    if as_json:
        write_json(result, sys.stdout)
    else:
        write_text(result, sys.stdout)
    return 0


def write_json(result: Result, out: TextIO) -> None:
    """One JSON document: `protocol`, `timeline` (time order), `calls`, `counts`."""
    out.write(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
    out.write("\n")


def write_text(result: Result, out: TextIO) -> None:
    """Per agent, in time order, the pops and call states; then each call's end; then counts."""
    agents: dict[str, list[Entry]] = {}
    for entry in result.timeline:
        agents.setdefault(entry.agent, []).append(entry)
    if not agents:
        out.write("no pops: no call rang an agent in this recording\n")
    for agent, entries in agents.items():
        out.write(f"agent {agent}\n")
        for entry in entries:
            out.write(f"  {_line(entry)}\n")
    if result.calls:
        out.write("calls\n")
        rows = [["CALL", "STATE", "HELD BY", "CALLER", "QUEUE", "POPPED FOR"]]
        for call in result.calls:
            caller = "withheld" if call.withheld else call.caller or "-"
            popped = ", ".join(call.popped) or "-"
            rows.append([call.call_id, call.state, call.holder or "-", caller, call.queue or "-",
                         popped])  # fmt: skip
        _table(rows, out)
    c = result.counts
    out.write(
        f"{result.protocol.upper()}: {c.frames} frames, {c.events} call events, "
        f"{c.rejected} rejected frames, {c.unknown_endpoints} events for unknown endpoints"
    )
    out.write(f", {c.mapper_errors} mapper errors\n" if c.mapper_errors else "\n")


def _line(entry: Entry) -> str:
    when = f"+{entry.t:9.3f}s" if entry.t is not None else "-"
    if entry.type == "pop":
        caller = "withheld" if entry.withheld else entry.caller or "(no caller id)"
        queue = f"  queue {entry.queue}" if entry.queue else ""
        return f"{when}  pop   {entry.call_id}  {entry.state:<18} {caller}{queue}"
    holder = f"  (held by {entry.holder})" if entry.holder and entry.holder != entry.agent else ""
    return f"{when}  call  {entry.call_id}  {entry.state}{holder}"


def _table(rows: list[list[str]], out: TextIO) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
        out.write(f"  {cells.rstrip()}\n")
