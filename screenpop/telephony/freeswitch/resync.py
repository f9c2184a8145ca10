"""Reading what FreeSWITCH answers to the resync commands after a (re)connect. No I/O.

`show channels as json` (:func:`channel_rows`, :func:`bridged_legs`), mod_callcenter's
`a|b|c` listings (:func:`parse_table`, :func:`parse_queue_names`), and the queue members they
list turned into CallEvents (:func:`queue_members`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from screenpop.events import CallEvent, EventKind
from screenpop.telephony.freeswitch.state import CallTable, EslCall


def parse_table(body: str) -> list[dict[str, str]]:
    """Rows of mod_callcenter's `a|b|c` listings (header line first, `+OK` last)."""
    lines = [line for line in body.splitlines() if line.strip()]
    if not lines or lines[0].startswith(("-ERR", "-USAGE", "+OK")):
        return []
    columns = lines[0].split("|")
    rows = []
    for line in lines[1:]:
        if line.startswith("+OK"):
            break
        values = line.split("|")
        if len(values) == len(columns):
            rows.append(dict(zip(columns, values, strict=True)))
    return rows


def parse_queue_names(body: str) -> list[str]:
    """Queue names from `callcenter_config queue list`."""
    return [row["name"] for row in parse_table(body) if row.get("name")]


def channel_rows(body: str) -> dict[str, dict[str, str]] | None:
    """`show channels as json` as {uuid: row}; None when the body is not that JSON.

    FreeSWITCH leaves `rows` out when there are no channels (`{"row_count":0}`).
    """
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or "row_count" not in data:
        return None
    rows = data.get("rows") or []
    out: dict[str, dict[str, str]] = {}
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, dict) and row.get("uuid"):
            out[str(row["uuid"])] = {str(k): "" if v is None else str(v) for k, v in row.items()}
    return out


def bridged_legs(rows: Mapping[str, Mapping[str, str]]) -> list[tuple[dict[str, str], bool]]:
    """The outbound legs of `show channels` rung from a caller's channel that is also listed.

    Each comes as the headers its CHANNEL_CREATE would carry, and whether it is answered.
    Legs FreeSWITCH originated on its own (mod_callcenter agents: `call_uuid` is their own uuid)
    are left out: the call center's member list tells those.
    """
    out = []
    for uuid, row in rows.items():
        root = row.get("call_uuid") or ""
        caller = rows.get(root) if root != uuid else None
        if row.get("direction") != "outbound" or caller is None:
            continue
        headers = {
            "Unique-ID": uuid,
            "variable_call_uuid": root,
            "Call-Direction": "outbound",
            "Channel-Name": row.get("name", ""),
            "Caller-Caller-ID-Number": caller.get("cid_num", ""),
            "Caller-Caller-ID-Name": caller.get("cid_name", ""),
        }
        out.append((headers, row.get("callstate") in ("ACTIVE", "HELD")))
    return out


def queue_members(
    table: CallTable, queue: str, body: str, alive: set[str] | None
) -> list[CallEvent]:
    """Re-learn the calls waiting in or answered from `queue`, from the body of
    `callcenter_config queue list members`: QUEUED each, plus RINGING or ANSWERED for the agent
    serving it. `alive` are the channel uuids `show channels` listed (None: unknown); a member
    whose channel is not among them, or whose call ended, is left out."""
    out: list[CallEvent] = []
    for row in parse_table(body):
        call_id = row.get("session_uuid") or ""
        state = row.get("state", "")
        if not call_id or state not in ("Waiting", "Trying", "Answered"):
            continue
        if call_id in table.closed or (alive is not None and call_id not in alive):
            continue
        call = table.calls.get(call_id)
        if call is None:
            call = table.calls.remember(EslCall(call_id))
            call.learn(row.get("cid_number"), row.get("cid_name"), {})
        call.callcenter, call.queue = True, call.queue or queue
        call.in_queue = state != "Answered"
        out.append(table.event(call, EventKind.QUEUED))
        agent = row.get("serving_agent", "")
        if agent and agent != "ring-all" and state == "Trying":
            out.append(table.event(call, EventKind.RINGING, agent))
        elif agent and state == "Answered":
            call.answered = True
            out.append(table.event(call, EventKind.ANSWERED, agent))
    return out
