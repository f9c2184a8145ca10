"""A tab checks its session cookie before every message it sends: a value already checked once
still stops working at its expiry, at its agent's logout, and when tampered with."""

from __future__ import annotations

from agent_ui.sessions import SessionCodec


def test_a_cookie_checked_before_still_ends_at_logout_and_expiry() -> None:
    now = [1_000_000.0]
    codec = SessionCodec("test-secret", 60, clock=lambda: now[0])
    alice, bob = codec.issue("alice"), codec.issue("bob")
    for _ in range(3):
        assert codec.verify(alice) == "alice" and codec.verify(bob) == "bob"
    payload, _, signature = alice.partition(".")
    assert codec.verify(f"{payload}.{signature[::-1]}") is None
    assert codec.verify(f"{payload}x.{signature}") is None
    codec.revoke("bob")
    assert codec.verify(bob) is None
    assert codec.verify(alice) == "alice"
    now[0] += 61
    assert codec.verify(alice) is None
    assert codec.verify(codec.issue("bob")) == "bob"  # a new session after the logout works
