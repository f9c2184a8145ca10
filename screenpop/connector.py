"""The connector contract's public import path for plugin authors (it lives in
:mod:`screenpop.connectors.contract`); see the README, "Writing a connector"."""

from screenpop.connectors.contract import (
    Connector,
    ConnectorContext,
    CreateQuery,
    Creator,
    LookupQuery,
    LookupResult,
    Record,
    Recorder,
    RecordItem,
    RecordRejected,
    Searcher,
    SearchResult,
)

__all__ = [
    "Connector",
    "ConnectorContext",
    "CreateQuery",
    "Creator",
    "LookupQuery",
    "LookupResult",
    "Record",
    "RecordItem",
    "RecordRejected",
    "Recorder",
    "SearchResult",
    "Searcher",
]
