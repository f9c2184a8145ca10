"""Write-back to a REST back office (`record_url`): one POST of the item's JSON per note or call
end, with the header ``Idempotency-Key: <record_id>`` so the back office applies it once.

A 2xx answer is done, and so is 409 (already applied). 408 (request timeout), 425 (too early)
and 429 (too many requests: a rate limit) say "not now", so they are tried again later like a
5xx, a timeout or a failed connection (ConnectorError). Any other 4xx is a rejection for good
(RecordRejected: shown "failed: HTTP 422 from crm", not retried). A dry run (`screenpop check`)
sends the header ``X-Screenpop-Dry-Run: 1``: the back office should validate the item and keep
nothing.
The POST has `record_timeout_s` (default 5 s) of its own: the lookup's `deadline_ms` and
`timeout_ms` do not apply to it.
"""

from __future__ import annotations

import logging

import aiohttp

from screenpop.connectors.contract import RECORD_LIMIT_S, RecordItem, RecordRejected
from screenpop.errors import ConnectorError

log = logging.getLogger(__name__)

ALREADY_APPLIED = 409
NOT_NOW = frozenset({408, 425, 429})  # 4xx that ask to be tried again later (RFC 9110, 6585)
RECORD_TIMEOUT_S = 5.0  # `record_timeout_s` by default: one POST, not the lookup's deadline
MAX_RECORD_TIMEOUT_S = RECORD_LIMIT_S  # the write-back cancels any record() then


async def post_record(
    session: aiohttp.ClientSession,
    url: str,
    item: RecordItem,
    name: str,
    *,
    dry_run: bool = False,
    timeout_s: float = RECORD_TIMEOUT_S,
) -> None:
    """POST `item` to `url`; see the module docstring for what each answer means."""
    headers = {"Idempotency-Key": item.record_id, "Content-Type": "application/json"}
    if dry_run:
        headers["X-Screenpop-Dry-Run"] = "1"
    try:
        async with session.post(
            url,
            json=item.params(),
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=timeout_s),
            allow_redirects=False,
        ) as response:
            status = response.status
    except TimeoutError:
        raise ConnectorError(f"{name} did not answer within {timeout_s:g} s") from None
    except aiohttp.ClientError as exc:
        log.debug("write-back to %s: %r", name, exc)
        raise ConnectorError(f"cannot reach {name} ({type(exc).__name__})") from None
    judge(status, name)


def judge(status: int, name: str) -> None:
    """Nothing for done (2xx, 409); RecordRejected for a 4xx that refuses for good;
    ConnectorError (tried again) for the rest, 408, 425 and 429 included."""
    if 200 <= status < 300 or status == ALREADY_APPLIED:
        return
    if 400 <= status < 500 and status not in NOT_NOW:
        raise RecordRejected(f"HTTP {status} from {name}")
    raise ConnectorError(f"HTTP {status} from {name}")
