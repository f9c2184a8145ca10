"""Metrics the web application adds to the daemon's registry (exported at `/metrics`)."""

from __future__ import annotations

import weakref

from prometheus_client import CollectorRegistry, Counter

_BY_REGISTRY: weakref.WeakKeyDictionary[CollectorRegistry, UiCounters] = weakref.WeakKeyDictionary()


class UiCounters:
    """Failures seen at the web boundary, counted rather than logged one by one."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.bad_client_messages = Counter(
            "screenpop_ws_bad_messages_total",
            "Websocket messages from browsers rejected as malformed or not allowed",
            registry=registry,
        )
        self.login_failures = Counter(
            "screenpop_login_failures_total", "Failed logins on the login page", registry=registry
        )
        self.token_failures = Counter(
            "screenpop_token_failures_total",
            "Requests refused for a wrong bearer token",
            registry=registry,
        )
        self.login_throttled = Counter(
            "screenpop_login_throttled_total",
            "Logins (via=form) and bearer-token requests (via=bearer) refused with 429 after "
            "too many failures",
            ["via"],
            registry=registry,
        )
        self.webhook_rejected = Counter(
            "screenpop_webhook_rejected_total",
            "Webhook requests rejected",
            ["source", "reason"],
            registry=registry,
        )

    @classmethod
    def for_registry(cls, registry: CollectorRegistry) -> UiCounters:
        """The counters of `registry`, registered once even when the app is built again."""
        counters = _BY_REGISTRY.get(registry)
        if counters is None:
            counters = _BY_REGISTRY[registry] = cls(registry)
        return counters
