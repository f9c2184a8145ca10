"""Every Redis key screenpop writes, built in one place.

A key is `<prefix><kind>:<...>`, the prefix being `[cache] key_prefix` ("screenpop:" unless set;
several deployments can share one Redis with different prefixes). The cache applies the prefix;
the builders here give the part after it, so a key's layout is read in one module:

* `section:<connector>:<e164>`: one connector's answer for a number, with the time it stops
  being fresh; Redis expires it when it stops being usable stale (written by the lookup). For a
  connector whose query uses lookup keys (`[lookup] keys`, IVR data) and a call that has values
  for them, the values follow, sorted by key, URL-quoted: `section:<connector>:<e164>|account=12345`
  (the same number with another account is another answer).
* `choice:<e164>`: the customer an agent picked for a number several customers share (written
  by the lookup when an agent picks a candidate).

In cluster mode (`[cluster]`, its own `key_prefix`):

* `lease:<source>`: the node id holding an AMI/ESL link, expiring after `lease_s` unless renewed.
* `lease:@retention`: the node that ran the daily retention purge, held for half a day so the
  other nodes skip theirs (no source is named with an `@`).
* `node:<node_id>`: a node's heartbeat, expiring unless beaten; the live nodes are these keys.
* `seq:<agent>`: the agent's latest message seq; `replay:<agent>`: the stream of its latest
  messages (entry id `<seq>-1`), `replay-bytes:<agent>`: the bytes of JSON the stream holds.
* `last:<agent>`: a hash, per call id the kind of the latest pop or state the agent got about it
  (and its seq), so the same pop or state again after a takeover's resync is not sent twice.
* `deliver`: the pub/sub channel every numbered message goes out on to every node.
* `lookup:<section key>`: the node asking a connector about a number now; the others wait for
  its answer in the cache instead of asking too.
* `board`: the pub/sub channel each node's board changes (calls, presence, wrap-ups) go out on.
* `report-send:<schedule>:<due>`: the node that mails a scheduled report's send due at epoch
  second `<due>` (set once, expiring hours later; the other nodes do not send it).
* `callbacks`: the pub/sub channel each node's callback item changes go out on (the items
  themselves live in the shared store).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

DEFAULT_PREFIX = "screenpop:"
SECTION = "section:"
CHOICE = "choice:"


def section_key(connector: str, e164: str, keys: Mapping[str, str] | None = None) -> str:
    """One connector's cached answer for `e164` (and the lookup `keys` values it was asked)."""
    extra = "".join(f"|{k}={quote(v, safe='')}" for k, v in sorted((keys or {}).items()) if v)
    return f"{SECTION}{connector}:{e164}{extra}"


def choice_key(e164: str) -> str:
    """The customer an agent picked for `e164` (a number shared by several customers)."""
    return f"{CHOICE}{e164}"


LEASE = "lease:"
RETENTION_LEASE = "@retention"  # the daily purge's lease, as a source name (see lease_key)
NODE = "node:"
DELIVER_CHANNEL = "deliver"
BOARD_CHANNEL = "board"
CALLBACKS_CHANNEL = "callbacks"


def report_send_key(schedule: str, due: float) -> str:
    """Who mails `schedule`'s report due at epoch time `due`."""
    return f"report-send:{schedule}:{int(due)}"


def lease_key(source: str) -> str:
    """Who holds the PBX link `source` (a node id), while the lease lasts."""
    return f"{LEASE}{source}"


def node_key(node_id: str) -> str:
    """A node's heartbeat."""
    return f"{NODE}{node_id}"


def seq_key(agent_id: str) -> str:
    """The agent's latest message seq."""
    return f"seq:{agent_id}"


def replay_key(agent_id: str) -> str:
    """The stream of the agent's latest numbered messages."""
    return f"replay:{agent_id}"


def replay_bytes_key(agent_id: str) -> str:
    """How many bytes of JSON the agent's replay stream holds."""
    return f"replay-bytes:{agent_id}"


def last_kind_key(agent_id: str) -> str:
    """Per call id, the kind of the latest pop or state the agent got about it."""
    return f"last:{agent_id}"


def lookup_key(section_key: str) -> str:
    """Who asks the connector for this section (a :func:`section_key`) now."""
    return f"lookup:{section_key}"
