"""Which agent an endpoint rings for, however the PBX spells it; token checks."""

from __future__ import annotations

import hashlib

import pytest

from screenpop.agents import AgentDirectory
from screenpop.settings import AgentSettings

DIRECTORY = AgentDirectory(
    [
        AgentSettings(id="alice", extensions=["PJSIP/1001", "1001"], token="ta"),
        AgentSettings(id="bob", extensions=["Local/1002@from-internal"], token="tb"),
        AgentSettings(id="carol", extensions=["user/1003"], token="tc"),
        AgentSettings(
            id="dave", extensions=["WK0123"], token_sha256=hashlib.sha256(b"td").hexdigest()
        ),
    ]
)


@pytest.mark.parametrize(
    ("endpoint", "agent"),
    [
        ("PJSIP/1001", "alice"),
        ("PJSIP/1001-0000001a", "alice"),  # Asterisk channel with its unique suffix
        ("SIP/1001-00000003", "alice"),
        ("1001", "alice"),
        ("1001@default", "alice"),  # FreeSWITCH mod_callcenter agent name
        ("user/1001@pbx.example", "alice"),
        ("Local/1002@from-internal-00000012;1", "bob"),  # FreePBX queue member
        ("Local/1002@from-internal;2", "bob"),
        ("PJSIP/1002-00000001", "bob"),
        ("user/1003@default", "carol"),
        ("1003", "carol"),
        ("WK0123", "dave"),  # a TaskRouter worker sid
        ("wk0123", "dave"),
        ("PJSIP/1009-0000001a", None),
        ("", None),
        (None, None),
        ("PJSIP/carrier-0000002f", None),
    ],
)
def test_endpoint_matches_the_agent(endpoint: str | None, agent: str | None) -> None:
    assert DIRECTORY.match(endpoint) == agent


def test_tokens_plain_and_hashed() -> None:
    assert DIRECTORY.authenticate("alice", "ta") is not None
    assert DIRECTORY.authenticate("alice", "tb") is None
    assert DIRECTORY.authenticate("nobody", "ta") is None
    dave = DIRECTORY.authenticate("dave", "td")
    assert dave is not None and dave.id == "dave"
    bearer = DIRECTORY.authenticate_token("tb")
    assert bearer is not None and bearer.id == "bob"
    assert DIRECTORY.authenticate_token("nope") is None
