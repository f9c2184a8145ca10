"""Bearer-token log-in at call-center size (issue 11): a token finds its agent by one look-up.

Ten thousand agents, half configured with a plain `token` and half with `token_sha256` (in either
case of hex). Every token finds its own agent, a wrong or empty one finds nobody, and each check
makes one constant-time compare, not one per agent (counted with a spy on ``hmac.compare_digest``).
"""

from __future__ import annotations

import hashlib
import hmac

import pytest

from screenpop import agents as agents_module
from screenpop.agents import AgentDirectory
from screenpop.settings import AgentSettings

AGENTS = 10_000


def token_of(n: int) -> str:
    return f"token-{n:05d}-{hashlib.sha256(str(n).encode()).hexdigest()[:16]}"


def settings_of(n: int) -> AgentSettings:
    agent_id = f"a{n:05d}"
    if n % 2:
        digest = hashlib.sha256(token_of(n).encode()).hexdigest()
        return AgentSettings(id=agent_id, token_sha256=digest.upper() if n % 4 == 1 else digest)
    return AgentSettings(id=agent_id, token=token_of(n))


@pytest.fixture(scope="module")
def directory() -> AgentDirectory:
    return AgentDirectory(settings_of(n) for n in range(AGENTS))


@pytest.fixture
def compares(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per ``hmac.compare_digest`` the directory makes."""
    calls: list[int] = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        calls.append(1)
        return real(a, b)

    monkeypatch.setattr(agents_module.hmac, "compare_digest", counting)
    return calls


def test_every_token_finds_its_own_agent(directory: AgentDirectory) -> None:
    for n in range(AGENTS):
        agent = directory.authenticate_token(token_of(n))
        assert agent is not None and agent.id == f"a{n:05d}"


@pytest.mark.parametrize(
    "wrong",
    [
        "token-00001-wrong",
        token_of(AGENTS),  # the next agent's token, never configured
        token_of(3).upper(),  # a hashed agent's token, case changed
        hashlib.sha256(token_of(1).encode()).hexdigest(),  # the stored hash is not the token
        " ",
    ],
)
def test_a_wrong_token_finds_nobody(directory: AgentDirectory, wrong: str) -> None:
    assert directory.authenticate_token(wrong) is None


def test_one_compare_per_check_whatever_the_number_of_agents(
    directory: AgentDirectory, compares: list[int]
) -> None:
    agent = directory.authenticate_token(token_of(AGENTS - 1))
    assert agent is not None and agent.id == f"a{AGENTS - 1:05d}"
    assert len(compares) == 1, "the token was compared with every agent's"
    assert directory.authenticate_token("not anyone's token") is None
    assert len(compares) == 2  # a wrong token costs the same single compare
