"""The incident list (``/``) and one incident (``/incidents/{id}``) with its buttons. The
buttons are ``notifier.page_actions``, the same the signed ack pages offer; the console adds
notes, setting the severity and who is signed in."""

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from urllib.parse import urlencode, urlsplit

import aiohttp_jinja2
from aiohttp import web

from notifier.channels.render import format_time
from notifier.page_actions import Answer, BadRequest, PageActions, parse_action, parse_severity
from notifier.signing import Action
from router.config import Severity
from router.index_reader import IndexReader, Position, Window
from router.matchers import Matcher, Op
from router.models import AlertRecord, Incident, IncidentStatus, TimelineEvent, TimelineKind
from router.store import IncidentNotFound, IncidentStore
from tocsin.console.auth import Gate, Viewer
from tocsin.incident_filter import (
    BadFilter,
    IncidentFilter,
    cursor_text,
    parse_cursor,
    parse_filter,
)
from tocsin.incident_listing import MAX_SCANNED, listed

log = logging.getLogger(__name__)

ALERTS_PAGE = 50
LIST_PAGE = 100
"""Incidents to a page of the list; "Older" goes on from the last one."""
FILTERS = ("status", "severity", "route", "service", "within")
WITHIN = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
"""The time filter's choices: opened in the last span before now ("" for any time)."""
MAX_NOTE = 2000
_OPEN_FIRST = {IncidentStatus.TRIGGERED: 0, IncidentStatus.ACKNOWLEDGED: 1}
SEVERITY = "severity"
"""The form's action that sets the severity: the console's own, as no signed link offers it."""

DONE = {
    Action.ACKNOWLEDGE.value: "Acknowledged: paging has stopped.",
    Action.RESOLVE.value: "Resolved: everyone paged is told.",
    Action.ESCALATE.value: "Escalated: the next level is paged now.",
    Action.SNOOZE.value: "Snoozed: it pages again when the snooze ends unless resolved.",
    Action.REASSIGN.value: "Handed over: they are paged now.",
    "severity_raised": "Severity raised: paged again from level 1, or whoever has it is told.",
    "severity_lowered": "Severity lowered: pages from now on go by it.",
    "note": "Note added.",
}
"""What a redirect after an action says; fixed texts, so a link cannot make the page say
anything else."""


class IncidentPages:
    def __init__(self, gate: Gate, store: IncidentStore, actions: PageActions) -> None:
        self.gate = gate
        self.store = store
        self.index = IndexReader(store.redis)
        self.actions = actions

    async def listing(self, request: web.Request) -> web.Response:
        viewer = self.gate.page_viewer(request)
        wanted = {key: request.query.get(key, "") for key in FILTERS}
        now = self.gate.clock()
        context = {
            "viewer": viewer,
            "wanted": wanted,
            "statuses": [s.value for s in IncidentStatus],
            "severities": [s.value for s in Severity],
            "within": WITHIN,
            "scanned": MAX_SCANNED,
            "rows": [],
            "paged": False,
            "older": None,
            "truncated": False,
        }
        try:
            chosen, after = _chosen(wanted, request.query.get("cursor", ""), now)
        except BadFilter as problem:
            context["notice"] = ("bad", str(problem))
            return aiohttp_jinja2.render_template("incidents.html", request, context, status=400)
        page = await listed(self.index, chosen, LIST_PAGE, after=after)
        incidents = sorted(page.incidents, key=lambda i: _OPEN_FIRST.get(i.status, 2))
        shown = {k: v for k, v in wanted.items() if v}
        context |= {
            # Sorted stably: newest first within open, acknowledged, resolved.
            "rows": [
                {"incident": i, "age": _age(now, i.created_at), "owner": self._owner(i)}
                for i in incidents
            ],
            "paged": after is not None,
            "newest": urlencode(shown),
            "older": None
            if page.next is None
            else urlencode({**shown, "cursor": cursor_text(page.next)}),
            "truncated": page.truncated,
        }
        return aiohttp_jinja2.render_template("incidents.html", request, context)

    async def show(self, request: web.Request) -> web.Response:
        viewer = self.gate.page_viewer(request)
        incident = await self._incident(request)
        done = DONE.get(request.query.get("done", ""))
        return await self._page(request, viewer, incident, None if done is None else ("good", done))

    async def act(self, request: web.Request) -> web.Response:
        viewer, form = await self.gate.acting_viewer(request)
        incident = await self._incident(request)
        now = self.gate.clock()
        try:
            if form.get("action") == SEVERITY:
                severity = parse_severity(form.get("severity"))
                answer = await self.actions.set_severity(incident, severity, viewer.person, now)
                done = f"severity_{'raised' if severity < incident.severity else 'lowered'}"
            else:
                action = parse_action(form.get("action"))
                answer = await self.actions.act(incident, action, viewer.person, form, now)
                done = action.value
        except BadRequest as problem:
            return await self._page(request, viewer, incident, ("bad", str(problem)), 400)
        except IncidentNotFound:
            raise web.HTTPNotFound(text="no such incident") from None
        return await self._answered(request, viewer, answer, done)

    async def note(self, request: web.Request) -> web.Response:
        viewer, form = await self.gate.acting_viewer(request)
        incident = await self._incident(request)
        text = form.get("note", "").strip()
        if not text or len(text) > MAX_NOTE:
            problem = f"a note needs 1 to {MAX_NOTE} characters"
            return await self._page(request, viewer, incident, ("bad", problem), 400)
        event = TimelineEvent(
            at=self.gate.clock(), kind=TimelineKind.NOTE, person=viewer.person, detail=text
        )
        try:
            await self.store.add_timeline(incident.id, [event])
        except IncidentNotFound:
            raise web.HTTPNotFound(text="no such incident") from None
        _log("note", incident.id, viewer.person)
        raise web.HTTPSeeOther(f"/incidents/{incident.id}?done=note")

    async def _answered(
        self, request: web.Request, viewer: Viewer, answer: Answer, action: str
    ) -> web.Response:
        if answer.changed:
            _log(action, answer.incident.id, viewer.person)
            raise web.HTTPSeeOther(f"/incidents/{answer.incident.id}?done={action}")
        tone = "good" if answer.status == 200 else "bad"
        return await self._page(
            request, viewer, answer.incident, (tone, answer.message), answer.status
        )

    async def _incident(self, request: web.Request) -> Incident:
        incident = await self.store.get(request.match_info["id"])
        if incident is None:
            raise web.HTTPNotFound(text="no such incident")
        return incident

    async def _page(
        self,
        request: web.Request,
        viewer: Viewer,
        incident: Incident,
        notice: tuple[str, str] | None,
        status: int = 200,
    ) -> web.Response:
        cursor_text = request.query.get("cursor", "0")
        cursor = int(cursor_text) if cursor_text.isascii() and cursor_text.isdigit() else 0
        alerts, next_cursor = await self.store.alerts(
            incident.id, limit=ALERTS_PAGE, cursor=min(cursor, 10**12)
        )
        now = self.gate.clock()
        offer = await self.actions.offer(incident, frozenset(Action), viewer.person, now)
        context = {
            "viewer": viewer,
            "incident": incident,
            "owner": self._owner(incident),
            "age": _age(now, incident.created_at),
            "snoozed_until": format_time(incident.snoozed_until) if incident.snoozed_until else "",
            "alerts": [_alert_row(a) for a in alerts],
            "cursor": cursor,
            "next_cursor": next_cursor,
            "timeline": [self._event_row(e) for e in await self.store.timeline(incident.id)],
            "offer": offer,
            "actions": {a.value for a in offer.actions},
            "people": [(p, self.actions.name_of(p)) for p in offer.reassign_to],
            "snooze_minutes": (15, 30, 60),
            "notice": notice,
            "silence_query": [
                ("matcher", str(Matcher.of(k, Op.EQUAL, v)))
                for k, v in incident.group_labels.items()
            ]
            + [("comment", f"incident {incident.id}: {incident.title}")],
        }
        return aiohttp_jinja2.render_template("incident.html", request, context, status=status)

    def _owner(self, incident: Incident) -> str:
        owner = owner_of(incident)
        return "" if owner is None else self.actions.name_of(owner)

    def _event_row(self, event: TimelineEvent) -> dict[str, str]:
        return {
            "at": format_time(event.at),
            "kind": event.kind.value.replace("_", " "),
            "person": self.actions.name_of(event.person) if event.person else "",
            "channel": event.channel or "",
            "detail": event.detail or "",
        }


def owner_of(incident: Incident) -> str | None:
    """Who has the incident: whoever acknowledged it, else whom it was handed to."""
    return incident.acknowledged_by or incident.assigned_to or None


def _log(action: str, incident_id: str, person: str) -> None:
    log.info(
        "incident %s: %s in the console by %s",
        incident_id,
        action,
        person,
        extra={"event": f"console_{action}", "incident": incident_id, "person": person},
    )


def _chosen(
    wanted: dict[str, str], cursor: str, now: datetime
) -> tuple[IncidentFilter, Position | None]:
    """The form's filters as the API reads them; an empty field is "any"."""
    if wanted["within"] not in ("", *WITHIN):
        raise BadFilter(f"within must be one of {', '.join(WITHIN)} or empty")
    chosen = parse_filter({k: v for k, v in wanted.items() if v and k != "within"})
    if wanted["within"]:
        chosen = replace(chosen, window=Window(since=now - WITHIN[wanted["within"]]))
    return chosen, parse_cursor(cursor) if cursor else None


def _alert_row(alert: AlertRecord) -> dict[str, object]:
    links = [("source", alert.generator_url)] if alert.generator_url else []
    links += list(alert.annotations.items())
    return {
        "alert": alert,
        "first_seen": format_time(alert.first_seen),
        "last_seen": format_time(alert.last_seen),
        "links": [(name, url) for name, url in links if url and _web_link(url)],
        "texts": {k: v for k, v in alert.annotations.items() if not _web_link(v)},
    }


def _web_link(url: str) -> bool:
    """Only http(s): a ``javascript:`` or ``data:`` link from an alert must not be clickable."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _age(now: datetime, then: datetime) -> str:
    return spelled(max(0, int((now - then).total_seconds())))


def spelled(seconds: int) -> str:
    """A span to the minute or hour, as a person reads it at a glance: ``1h 35m``."""
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h {seconds % 3600 // 60}m"
    return f"{seconds // 86400}d {seconds % 86400 // 3600}h"
