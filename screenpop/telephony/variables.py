"""Call variables (IVR data) read from PBX events, free of I/O.

A source keeps only the variables named in `[lookup] keys` (the `wanted` names), each value
trimmed and cut to :data:`MAX_VALUE` characters. Asterisk reports them as `VarSet` events and,
with `channelvars` in manager.conf, as `ChanVariable: NAME=value` headers (Asterisk 12 and
later) or `ChanVariable(NAME): value` (older); an inherited variable's leading underscores
(`__IVR_ACCOUNT`) are not part of its name. FreeSWITCH puts every channel variable in the
event as a `variable_<name>` header.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

MAX_VALUE = 128
_CHAN_VARIABLE = "chanvariable"


def clean(value: str) -> str:
    """A variable's value as kept: printable, trimmed, bounded."""
    text = "".join(ch for ch in value if ch.isprintable())
    return text.strip()[:MAX_VALUE]


def name_of(variable: str) -> str:
    """A variable's name without Asterisk's inheritance underscores."""
    return variable.lstrip("_")


def ami_variables(fields: Iterable[tuple[str, str]], wanted: Collection[str]) -> dict[str, str]:
    """The wanted variables among an AMI message's `ChanVariable` headers."""
    found: dict[str, str] = {}
    if not wanted:
        return found
    for key, value in fields:
        lowered = key.lower()
        if lowered == _CHAN_VARIABLE:
            name, sep, text = value.partition("=")
        elif lowered.startswith(_CHAN_VARIABLE + "(") and key.endswith(")"):
            name, sep, text = key[len(_CHAN_VARIABLE) + 1 : -1], "=", value
        else:
            continue
        name = name_of(name.strip())
        if sep and name in wanted:
            found[name] = clean(text)
    return found


def esl_variables(headers: Mapping[str, str], wanted: Collection[str]) -> dict[str, str]:
    """The wanted variables among an ESL event's `variable_<name>` headers."""
    found: dict[str, str] = {}
    for name in wanted:
        value = headers.get(f"variable_{name}")
        if value is not None:
            found[name] = clean(value)
    return found
