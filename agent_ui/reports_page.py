"""`GET /reports`: the Reports page, for roles with the `reports` permission.

The page asks `GET /api/reports/{kind}?format=json` (:mod:`agent_ui.reports_api`) for the range,
interval, queue and kind picked in its form, and draws the table and the charts in the browser
(static/reports.js, static/charts.js); its "Download CSV" link is the same API with format=csv.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from aiohttp import web

from agent_ui.auth import session_agent
from agent_ui.i18n import Translate
from agent_ui.keys import DESK
from agent_ui.pages import origin_warning, page_text, render
from screenpop.localday import zone
from screenpop.reports.kinds import KINDS
from screenpop.reports.model import INTERVALS

DEFAULT_DAYS = 7  # the form starts on the last week, up to yesterday


async def reports_page(request: web.Request) -> web.StreamResponse:
    """The form and an empty result; 403 (the "not allowed" page) without `reports`."""
    agent = session_agent(request)
    if agent is None:
        raise web.HTTPSeeOther("/")
    desk = request.app[DESK]
    if not desk.reads_reports(agent):
        return render(request, "forbidden.html", 403, agent=agent, what="reports")
    today = dt.datetime.now(zone(desk.ui.timezone)).date()
    last = today - dt.timedelta(days=1)
    form = {
        "from": (last - dt.timedelta(days=DEFAULT_DAYS - 1)).isoformat(),
        "to": last.isoformat(),
        "max": today.isoformat(),
    }
    t = page_text(request, agent)
    return render(
        request,
        "reports.html",
        agent=agent,
        board=desk.watches_board(agent),
        warning=origin_warning(request, t),
        kinds=labelled(page_kinds(), kind_names(t)),
        intervals=labelled(INTERVALS, interval_names(t)),
        form=form,
    )


def labelled(names: Iterable[str], labels: Mapping[str, str]) -> list[tuple[str, str]]:
    """(name, label) for each name; a name without a label shows as itself."""
    return [(name, labels.get(name, name)) for name in names]


def page_kinds() -> list[str]:
    """The kinds the form offers: the audit trail asks for a number or an agent, which the form
    has no field for (it is the command line's and the API's, see README)."""
    return [name for name, kind in KINDS.items() if not kind.open_range]


def kind_names(t: Translate) -> dict[str, str]:
    return {
        "queues": t("Per queue"),
        "agents": t("Per agent"),
        "dispositions": t("Dispositions"),
        "callbacks": t("Callbacks"),
    }


def interval_names(t: Translate) -> dict[str, str]:
    return {
        "15m": t("15 minutes"),
        "hour": t("Hour"),
        "day": t("Day"),
        "week": t("Week"),
        "month": t("Month"),
        "hour_of_day": t("Hour of the day"),
        "day_of_week": t("Day of the week"),
    }
