"""Every Redis key screenpop writes, built in one place.

A key is `<prefix><kind>:<...>`, the prefix being `[cache] key_prefix` ("screenpop:" unless set;
several deployments can share one Redis with different prefixes). The cache applies the prefix;
the builders here give the part after it, so a key's layout is read in one module:

* `section:<connector>:<e164>`: one connector's answer for a number, with the time it stops
  being fresh; Redis expires it when it stops being usable stale (written by the lookup).
* `choice:<e164>`: the customer an agent picked for a number several customers share (written
  by the lookup when an agent picks a candidate).

The cluster issue adds per-agent sequence and replay streams and the PBX links' leases here.
"""

from __future__ import annotations

DEFAULT_PREFIX = "screenpop:"
SECTION = "section:"
CHOICE = "choice:"


def section_key(connector: str, e164: str) -> str:
    """One connector's cached answer for `e164`."""
    return f"{SECTION}{connector}:{e164}"


def choice_key(e164: str) -> str:
    """The customer an agent picked for `e164` (a number shared by several customers)."""
    return f"{CHOICE}{e164}"
