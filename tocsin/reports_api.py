"""``/api/v1/reports``: how fast incidents were answered and what made them, over a range
(``?from=&to=``, ISO 8601, default the last 7 days), as JSON and as an SVG chart; and
``/api/v1/incidents/{id}/postmortem.md``, a review of one incident to fill in. What the
numbers mean is written down in ``router.reports``."""

from datetime import datetime, timedelta

from aiohttp import web
from redis.asyncio import Redis

from ingest.clock import Clock
from router.report_reader import reviewed_between
from router.reports import Report, report
from router.store import MAX_ALERTS_PAGE, IncidentStore
from tocsin.explaining import parse_at
from tocsin.http_errors import json_error
from tocsin.postmortem import postmortem
from tocsin.reloading import ConfigHolder
from tocsin.report_svg import incidents_chart

DEFAULT_RANGE = timedelta(days=7)
MAX_RANGE = timedelta(days=366)
"""A year, leap day included: enough to compare quarters, and a bound on what one request
reads."""


def report_range(
    start_text: str | None, end_text: str | None, now: datetime
) -> tuple[datetime, datetime, list[str]]:
    """``[start, end)`` and notes on how it was read; ``ValueError`` names the parameter."""
    notes: list[str] = []
    try:
        end, said = parse_at(end_text, now)
    except ValueError as error:
        raise ValueError(f"to: {error}") from None
    notes += [f"to: {n}" for n in said]
    if start_text is None:
        start = end - DEFAULT_RANGE
    else:
        try:
            start, said = parse_at(start_text, now)
        except ValueError as error:
            raise ValueError(f"from: {error}") from None
        notes += [f"from: {n}" for n in said]
    if start >= end:
        raise ValueError("from must be before to")
    if end - start > MAX_RANGE:
        raise ValueError(f"the range is longer than {MAX_RANGE.days} days: ask for less")
    return start, end, notes


class ReportAnswer(Report):
    """The report, and how it was read."""

    truncated: bool
    """Only the first incidents of the range were read (``router.report_reader``)."""
    notes: list[str]
    """How the range was read (a time without offset, defaults)."""


class ReportsApi:
    def __init__(self, redis: Redis, config: ConfigHolder, clock: Clock) -> None:
        self.redis = redis
        self.store = IncidentStore(redis)
        self.config = config
        self.clock = clock

    async def report(self, request: web.Request) -> web.Response:
        try:
            made, truncated, notes = await self.made(request)
        except ValueError as error:
            return json_error(400, str(error))
        answer = ReportAnswer(**dict(made), truncated=truncated, notes=notes)
        return web.json_response(answer.model_dump(mode="json"))

    async def chart(self, request: web.Request) -> web.Response:
        try:
            made, _, _ = await self.made(request)
        except ValueError as error:
            return json_error(400, str(error))
        return chart_response(made)

    async def postmortem(self, request: web.Request) -> web.Response:
        answer = await postmortem_response(self.store, request.match_info["id"])
        return json_error(404, "no such incident") if answer is None else answer

    async def made(self, request: web.Request) -> tuple[Report, bool, list[str]]:
        """The report of the request's ``?from=&to=``, whether it was truncated, and how the
        range was read; ``ValueError`` names the parameter written wrong. The console's
        reports page asks here too, so both show the same numbers."""
        now = self.clock()
        start, end, notes = report_range(request.query.get("from"), request.query.get("to"), now)
        gathered = await reviewed_between(self.redis, start, end)
        return (
            report(gathered.reviewed, start, end, now, self.config.current.response_targets),
            gathered.truncated,
            notes,
        )


def chart_response(made: Report) -> web.Response:
    return web.Response(text=incidents_chart(made), content_type="image/svg+xml")


async def postmortem_response(store: IncidentStore, incident_id: str) -> web.Response | None:
    """The incident's review in Markdown, ``None`` if there is no such incident; for the API
    (a token) and the console (a session) alike."""
    incident = await store.get(incident_id)
    if incident is None:
        return None
    alerts, _ = await store.alerts(incident_id, limit=MAX_ALERTS_PAGE)
    timeline = await store.timeline(incident_id)
    text = postmortem(incident, timeline, alerts)
    return web.Response(text=text, content_type="text/markdown")


def add_routes(app: web.Application, api: ReportsApi) -> None:
    app.router.add_get("/api/v1/reports", api.report)
    app.router.add_get("/api/v1/reports/incidents.svg", api.chart)
    app.router.add_get("/api/v1/incidents/{id}/postmortem.md", api.postmortem)
