"""The one error tree of screenpop.

Every error the daemon raises on purpose derives from :class:`ScreenpopError`. Code at a boundary
(a connector, a PBX source, a browser message) turns foreign exceptions into one of these, so the
caller only ever has to catch this tree.
"""


class ScreenpopError(Exception):
    """Base of every error screenpop raises on purpose."""


class ConfigError(ScreenpopError):
    """The configuration is invalid; the message names the file and the key."""


class ConnectorError(ScreenpopError):
    """A connector failed. The message is shown to agents: it must not leak secrets or internals."""


class ConnectorUnavailable(ConnectorError):
    """The connector's circuit breaker is open; it is skipped until its cool-off ends."""


class ProtocolError(ScreenpopError):
    """A PBX or webhook sent something that does not follow its protocol."""


class AuthError(ScreenpopError):
    """Credentials were missing or wrong (PBX login, agent token, webhook signature)."""


class StoreError(ScreenpopError):
    """The call log / notes store failed."""


class StoreRejected(StoreError):
    """The store is up but refused this write (a constraint, a value it cannot hold): trying it
    again will not help."""


class OutboxFull(StoreError):
    """The store is away and the outbox has no room left for a note."""


class ReportError(ScreenpopError, ValueError):
    """A report was asked for with a bad parameter (a date, an interval, a kind); the message
    says which and is safe to show."""
