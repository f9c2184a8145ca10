"""`GET /api/reports/{kind}?from=&to=&interval=&queue=&format=csv|json`: a report from the call
log, for roles with the `reports` permission."""

from __future__ import annotations

from aiohttp import web

from agent_ui.api import api_agent, problem
from agent_ui.keys import DESK
from screenpop.errors import ReportError, StoreError
from screenpop.reports.kinds import KINDS
from screenpop.reports.model import parse_query

FORMATS = ("json", "csv")


async def report(request: web.Request) -> web.Response:
    """403 without the permission, 404 for a kind that does not exist, 400 naming a bad
    parameter, 503 when the call log cannot be read; CSV comes as a download."""
    agent = api_agent(request)
    desk = request.app[DESK]
    if not desk.reads_reports(agent):
        return problem(403, "your role may not read reports")
    kind = request.match_info["kind"]
    if kind not in KINDS:
        return problem(404, f"no report {kind!r} (one of {', '.join(KINDS)})")
    params = request.query
    format_ = params.get("format", "json")
    if format_ not in FORMATS:
        return problem(400, f"format: {format_!r} is not one of {', '.join(FORMATS)}")
    try:
        query = parse_query(
            kind,
            params.get("from"),
            params.get("to"),
            params.get("interval"),
            params.get("queue"),
            desk.ui.timezone,
        )
        found = await desk.report(query)
    except ReportError as exc:
        return problem(400, str(exc))
    except StoreError:
        return problem(503, "the call log cannot be read now")
    if format_ == "json":
        return web.json_response(found.to_json())
    disposition = f'attachment; filename="{found.filename}"'
    return web.Response(
        text=found.to_csv(),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": disposition},
    )
