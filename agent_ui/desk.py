"""What the web layer needs from the daemon, declared here and nowhere else: :class:`Desk`.

The pages, the API and the websocket endpoint talk only to this protocol. The daemon hands the
app an object that implements it (`screenpop.desk.DeskService`); agent_ui never imports a
concrete daemon class, so either side can change behind the seam.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Protocol

from prometheus_client import CollectorRegistry

from screenpop.agents import Agent
from screenpop.delivery.hub import Subscription
from screenpop.delivery.inbound import CallbackAction
from screenpop.delivery.outbound import Hello
from screenpop.events import SourceEvent
from screenpop.reports.model import Report, ReportQuery
from screenpop.settings import ServerSettings
from screenpop.telephony.base import WebhookSource
from screenpop.ui_settings import UiSettings


class Desk(Protocol):
    """The daemon as the web layer sees it. Read the settings through it on every request: a
    reload replaces them."""

    # -- who may do what ----------------------------------------------------------------------
    @property
    def server(self) -> ServerSettings: ...

    @property
    def dispositions(self) -> Sequence[str]: ...

    @property
    def ui(self) -> UiSettings:
        """`[ui]`: the center's time zone, default locale, pause reasons."""
        ...

    def agent(self, agent_id: str) -> Agent | None: ...

    def authenticate(self, agent_id: str, token: str) -> Agent | None: ...

    def authenticate_token(self, token: str) -> Agent | None: ...

    def watches_board(self, agent: Agent) -> bool:
        """True when the agent's role may see the supervisor board (and reload the config)."""
        ...

    def manages_agents(self, agent: Agent) -> bool:
        """True when the agent's role may pause and unpause other agents."""

    def reads_reports(self, agent: Agent) -> bool:
        """True when the agent's role may read the reports from the call log."""
        ...

    async def report(self, query: ReportQuery, actor: str) -> Report:
        """The report `query` asks for, counted as the config says (`[board]`, `[reports]`,
        `[ui]`); one that shows callers' data is audited as read by `actor`. ReportError: no
        such kind or bad parameters; StoreError: the call log could not be read."""
        ...

    def layouts(self, agent: Agent) -> dict[str, Any]:
        """How the agent's role is shown each card section (`[sections]`, the role's sections
        only, its hidden fields left out): JSON for the agent page."""
        ...

    # -- an agent's tabs ------------------------------------------------------------------------
    def subscribe(self, agent_id: str) -> Subscription: ...

    def unsubscribe(self, sub: Subscription) -> None: ...

    async def hello(self, agent: Agent) -> Hello: ...

    async def connected(self, agent_id: str) -> None: ...

    async def disconnected(self, agent_id: str) -> None: ...

    async def resume(self, sub: Subscription, last_seq: int) -> None: ...

    def ack(self, agent_id: str, seq: int) -> None: ...

    async def ready(self, agent_id: str) -> None: ...

    def slow_client(self) -> None:
        """A tab could not keep up and was closed (counted)."""
        ...

    # -- what an agent does --------------------------------------------------------------------
    async def save_note(
        self,
        agent_id: str,
        call_id: str,
        disposition: str,
        text: str,
        note_id: str | None = None,
    ) -> dict[str, Any]:
        """Save a note; its ``synced`` is False when it waits for the store (it will be stored
        once). The same `note_id` twice stores one note. KeyError: not the agent's call;
        StoreError: it could be neither stored nor queued."""
        ...

    async def choose(self, agent_id: str, call_id: str, customer_id: str) -> None: ...

    async def link(self, agent_id: str, call_id: str, customer_id: str) -> None:
        """A customer found by search is the caller of the agent's call (remembered for the
        number like a candidate pick). KeyError: not their call; ValueError: the connectors
        already know the caller as someone else."""
        ...

    async def search(self, q: str, agent: Agent) -> dict[str, Any]:
        """Customers matching `q` (name, customer id, number) in every searching connector the
        agent's role may see, merged by customer id; the search (not its results) goes to the
        audit trail. ValueError unless `q` has 2 to 100 characters."""
        ...

    def create_forms(self, role_name: str) -> list[dict[str, Any]]:
        """The connectors the role may create customers with: ``[{"connector", "fields"}]``."""
        ...

    async def create_customer(
        self, agent: Agent, call_id: str, connector: str, values: object
    ) -> dict[str, Any]:
        """Create the unknown caller of the agent's call in `connector` with the field
        `values`; the card is rebuilt for every tab. KeyError: not their call or not a connector
        their role may create with; ValueError: the caller is not unknown; FieldError (a
        ValueError) naming a wrong field; CreateFailed: the back office failed (safe message)."""
        ...

    async def callback(self, agent_id: str, action: CallbackAction) -> None:
        """Take, release, dial (click-to-dial, the call linked to the item) or close a
        callback item; everyone who sees it gets the change. ValueError with a message safe to
        show (already taken by X, unknown, not their queue...); StoreError; a dial's errors."""
        ...

    async def remember_logout(self, agent_id: str, not_before_ms: int, ttl_s: float) -> None:
        """Keep a logout (sessions of `agent_id` issued until `not_before_ms` are void) for
        `ttl_s` seconds, across restarts. StoreError if it could not be kept."""
        ...

    async def logouts(self) -> dict[str, int]:
        """The logouts kept and still in force: agent id -> epoch ms. StoreError on failure."""
        ...

    async def dial(self, agent_id: str, number: str) -> str: ...

    async def set_paused(
        self, actor_id: str, paused: bool, reason: str | None, target_id: str | None = None
    ) -> None:
        """Pause (a reason from `[ui] pause_reasons`) or unpause `target_id` (default: the
        actor) at the PBX; the tabs get `status` messages. ValueError: not allowed or a bad
        reason; KeyError: no such agent; ProtocolError: the PBX refused or is away."""

    async def my_calls(self, agent_id: str, day: dt.date | None = None) -> dict[str, Any]:
        """The agent's calls of `day` (default: today in `[ui] timezone`), newest first:
        ``{"day", "calls"}``. StoreError when the store does not answer."""
        ...

    async def card_for_number(self, number: str, agent: Agent) -> dict[str, Any]:
        """One fan-out for `number`, as the agent's role may see it, recorded in the audit
        trail. ValueError for a non-number."""
        ...

    # -- operations -----------------------------------------------------------------------------
    @property
    def metrics_registry(self) -> CollectorRegistry: ...

    async def readiness(self) -> dict[str, Any]: ...

    def metrics_text(self) -> bytes: ...

    async def reload(self) -> str: ...

    async def forget_cached(self, number: str, *, dry_run: bool = False) -> dict[str, int]:
        """Drop everything this process caches about the caller `number` (its cards, "not
        found" answers, chosen customer): ``{"sections", "choice"}``, how many went (with
        `dry_run`, how many there are). ValueError for a non-number."""
        ...

    def webhook(self, name: str) -> WebhookSource | None: ...

    def emit(self, event: SourceEvent) -> None: ...
