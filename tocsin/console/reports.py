"""``/reports``: how fast incidents were answered and what made them, over ``?from=&to=``, as
``/api/v1/reports`` counts them (the same code reads both); its chart as an ``<img>`` from
``/reports/incidents.svg``, since the console's CSP lets images come from the console alone;
and ``/incidents/{id}/postmortem.md``, the API's review of one incident behind a session
instead of a token."""

from datetime import datetime, timedelta

import aiohttp_jinja2
from aiohttp import web

from notifier.channels.render import format_time
from router.reports import Noisy, Report
from schedules.durations import format_duration
from tocsin.console.auth import Gate
from tocsin.console.incidents import spelled
from tocsin.reports_api import ReportsApi, chart_response, postmortem_response


class ReportPages:
    def __init__(self, gate: Gate, reports: ReportsApi) -> None:
        self.gate = gate
        self.reports = reports

    async def show(self, request: web.Request) -> web.Response:
        viewer = self.gate.page_viewer(request)
        asked = {key: request.query.get(key, "") for key in ("from", "to")}
        context: dict[str, object] = {"viewer": viewer, "asked": asked}
        try:
            made, truncated, notes = await self.reports.made(request)
        except ValueError as error:
            context.update(report=None, notice=("bad", str(error)))
            return aiohttp_jinja2.render_template("reports.html", request, context, status=400)
        context.update(
            report=made,
            truncated=truncated,
            notes=notes,
            start=format_time(made.start),
            end=format_time(made.end),
            numbers=_numbers(made),
            targets=[
                {
                    "severity": severity.value,
                    "target": format_duration(timedelta(seconds=share.target_seconds)),
                    "share": _percent(share.share),
                    "met": share.met,
                    "decided": share.decided,
                    "pending": share.pending,
                }
                for severity, share in sorted(made.response_targets.items(), key=_first)
            ],
            counts=[
                ("Severity", _ranked({s.value: n for s, n in made.by_severity.items()})),
                ("Service", _ranked(made.by_service)),
                ("Route", _ranked(made.by_route)),
            ],
            noisiest=[
                ("Noisiest alerts", _noisy(made.noisiest_alerts)),
                ("Noisiest routes", _noisy(made.noisiest_routes)),
            ],
            chart_query={"from": _iso(made.start), "to": _iso(made.end)},
        )
        return aiohttp_jinja2.render_template("reports.html", request, context)

    async def chart(self, request: web.Request) -> web.Response:
        self.gate.page_viewer(request)
        try:
            made, _, _ = await self.reports.made(request)
        except ValueError as error:
            raise web.HTTPBadRequest(text=str(error)) from None
        return chart_response(made)

    async def postmortem(self, request: web.Request) -> web.Response:
        self.gate.page_viewer(request)
        answer = await postmortem_response(self.reports.store, request.match_info["id"])
        if answer is None:
            raise web.HTTPNotFound(text="no such incident")
        return answer


def _spelled_seconds(seconds: float) -> str:
    """Seconds stay seconds under a minute: a 40-second MTTA is not ``0m``."""
    whole = round(seconds)
    return f"{whole}s" if whole < 60 else spelled(whole)


def _numbers(made: Report) -> list[tuple[str, str]]:
    return [
        ("Incidents", str(made.incidents)),
        ("Open", str(made.open)),
        ("Acknowledged", str(made.acknowledged)),
        ("Resolved", str(made.resolved)),
        ("MTTA", "—" if made.mtta_seconds is None else _spelled_seconds(made.mtta_seconds)),
        ("MTTR", "—" if made.mttr_seconds is None else _spelled_seconds(made.mttr_seconds)),
        ("Escalated", _percent(made.escalation_rate)),
    ]


def _percent(share: float | None) -> str:
    return "—" if share is None else f"{share:.0%}"


def _first(item: tuple[str, object]) -> str:
    return item[0]


def _ranked(counts: dict[str, int]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def _noisy(rows: list[Noisy]) -> list[tuple[str, str]]:
    return [(row.name, f"{row.incidents} incidents, {row.alerts} alerts") for row in rows]


def _iso(at: datetime) -> str:
    """What ``/reports/incidents.svg`` reads back as the same instant."""
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")
