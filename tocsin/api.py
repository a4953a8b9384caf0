"""``/api/v1``: incidents as JSON, for scripts and dashboards, and acting on them
(acknowledge, resolve, and the incident page's other actions, severity and notes) for chat
bots and tools. Who may do what is checked before a handler
runs (``tocsin.api_auth``); acting records the token, or a person its body names."""

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, StringConstraints

from ingest.clock import Clock
from notifier.page_actions import Answer, BadRequest, PageActions
from notifier.signing import Action
from router.config import Severity
from router.incidents import Resolution
from router.index_reader import IndexReader
from router.models import Incident, TimelineEvent, TimelineKind
from router.store import MAX_ALERTS_PAGE, IllegalTransition, IncidentNotFound, IncidentStore
from tocsin.api_auth import TOKEN
from tocsin.console.incidents import MAX_NOTE
from tocsin.incident_filter import BadFilter, cursor_text, parse_cursor, parse_filter
from tocsin.incident_listing import listed
from tocsin.json_body import BadBody, read_model
from tocsin.reloading import ConfigHolder

log = logging.getLogger(__name__)

MAX_LIMIT = 500
DEFAULT_ALERTS = 100
MAX_OFFSET = 1_000_000_000
"""Far past any real history, and small enough for Redis's 64-bit ranges."""
MAX_ACTION_BYTES = 4096
MAX_NOTE_BYTES = 4 * MAX_NOTE + MAX_ACTION_BYTES
"""Room for a note of ``MAX_NOTE`` characters of any script, escaped or not."""


class Acting(BaseModel):
    """The body of an action, optional: ``{"by": "alice"}`` records a configured person
    instead of the token (a chat bot acting for someone)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    by: str | None = None


class Snoozing(Acting):
    minutes: Literal[15, 30, 60]


class Reassigning(Acting):
    to: str
    """A person of the incident's escalation policy."""


class SettingSeverity(Acting):
    severity: Severity


class Noting(Acting):
    text: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NOTE)
    ]


class IncidentsApi:
    def __init__(
        self, store: IncidentStore, actions: PageActions, config: ConfigHolder, clock: Clock
    ) -> None:
        self.store = store
        self.index = IndexReader(store.redis)
        self.actions = actions
        """The incident page's own actions, so the API answers as the page does."""
        self.config = config
        """Read per request: an edit of people or retention applies to the next one."""
        self.clock = clock

    async def list(self, request: web.Request) -> web.Response:
        """Newest first. ``cursor`` (a page's ``next_cursor``) is the way to page: it
        continues after the last incident shown, however many opened since; ``offset``
        still works, counting from the newest."""
        limit = _whole(request.query.get("limit", "100"))
        offset = _whole(request.query.get("offset", "0"))
        if limit is None or offset is None:
            return _error(400, "limit and offset must be whole numbers")
        if not (1 <= limit <= MAX_LIMIT and offset <= MAX_OFFSET):
            return _error(400, f"limit must be 1..{MAX_LIMIT} and offset 0..{MAX_OFFSET}")
        cursor = request.query.get("cursor")
        if cursor is not None and offset:
            return _error(400, "give cursor or offset, not both")
        try:
            chosen = parse_filter(request.query)
            after = None if cursor is None else parse_cursor(cursor)
        except BadFilter as error:
            return _error(400, str(error))
        page = await listed(self.index, chosen, limit, after=after, offset=offset)
        return web.json_response(
            {
                "incidents": [i.model_dump(mode="json") for i in page.incidents],
                "next_cursor": None if page.next is None else cursor_text(page.next),
                "truncated": page.truncated,
            }
        )

    async def get(self, request: web.Request) -> web.Response:
        """One incident with a page of its alerts (``alerts_limit``, 1..1000, default 100;
        ``alerts_cursor`` from the previous page's ``alerts_next_cursor``) and its
        timeline."""
        limit = _whole(request.query.get("alerts_limit", str(DEFAULT_ALERTS)))
        cursor = _whole(request.query.get("alerts_cursor", "0"))
        if limit is None or cursor is None or not 1 <= limit <= MAX_ALERTS_PAGE:
            return _error(
                400, f"alerts_limit must be 1..{MAX_ALERTS_PAGE} and alerts_cursor a whole number"
            )
        incident_id = request.match_info["id"]
        incident = await self.store.get(incident_id)
        if incident is None:
            return _error(404, "no such incident")
        alerts, next_cursor = await self.store.alerts(incident_id, limit=limit, cursor=cursor)
        body = incident.model_dump(mode="json")
        body["alerts"] = [alert.model_dump(mode="json") for alert in alerts]
        body["alerts_next_cursor"] = next_cursor
        body["timeline"] = [
            e.model_dump(mode="json") for e in await self.store.timeline(incident_id)
        ]
        return web.json_response(body)

    async def acknowledge(self, request: web.Request) -> web.Response:
        incident_id = request.match_info["id"]
        try:
            person = await self._who(request)
        except BadBody as error:
            return _error(error.status, str(error))
        now = self.clock()
        try:
            incident = await self.store.acknowledge(incident_id, person, now)
        except IncidentNotFound:
            return _error(404, "no such incident")
        except IllegalTransition:
            return _error(409, "the incident is resolved: there is nothing to acknowledge")
        done = incident.acknowledged_at == now and incident.acknowledged_by == person
        if done:
            _log("acknowledged", incident_id, person)
        return _acted(incident, "acknowledged" if done else "already acknowledged")

    async def resolve(self, request: web.Request) -> web.Response:
        """As ``tocsin incident resolve``: whatever its alerts say; firing ones open a new
        incident."""
        incident_id = request.match_info["id"]
        try:
            person = await self._who(request)
        except BadBody as error:
            return _error(error.status, str(error))
        outcome, incident = await self.store.resolve(
            incident_id,
            person,
            self.clock(),
            retention=self.config.current.config.incident_retention,
        )
        if outcome is Resolution.NOT_FOUND or incident is None:
            return _error(404, "no such incident")
        if outcome is Resolution.RESOLVED:
            _log("resolved", incident_id, person)
        return _acted(incident, outcome.value.replace("_", " "))

    async def escalate(self, request: web.Request) -> web.Response:
        return await self._page_action(request, Action.ESCALATE, {})

    async def snooze(self, request: web.Request) -> web.Response:
        """For 15, 30 or 60 minutes, as the incident page offers."""
        try:
            body = await read_model(request, Snoozing, limit=MAX_ACTION_BYTES)
        except BadBody as error:
            return _error(error.status, str(error))
        return await self._page_action(request, Action.SNOOZE, {"minutes": str(body.minutes)}, body)

    async def reassign(self, request: web.Request) -> web.Response:
        try:
            body = await read_model(request, Reassigning, limit=MAX_ACTION_BYTES)
        except BadBody as error:
            return _error(error.status, str(error))
        return await self._page_action(request, Action.REASSIGN, {"to": body.to}, body)

    async def severity(self, request: web.Request) -> web.Response:
        """As the console's form: a raise pages level 1 again (or tells whoever has it)."""
        try:
            body = await read_model(request, SettingSeverity, limit=MAX_ACTION_BYTES)
        except BadBody as error:
            return _error(error.status, str(error))

        async def set_it(incident: Incident, person: str, now: datetime) -> Answer:
            return await self.actions.set_severity(incident, body.severity, person, now)

        return await self._answer(request, "severity", set_it, body)

    async def note(self, request: web.Request) -> web.Response:
        incident_id = request.match_info["id"]
        try:
            body = await read_model(request, Noting, limit=MAX_NOTE_BYTES)
            person = self._person(request, body)
        except BadBody as error:
            return _error(error.status, str(error))
        event = TimelineEvent(
            at=self.clock(), kind=TimelineKind.NOTE, person=person, detail=body.text
        )
        try:
            await self.store.add_timeline(incident_id, [event])
        except IncidentNotFound:
            return _error(404, "no such incident")
        incident = await self.store.get(incident_id)
        if incident is None:  # expired just now
            return _error(404, "no such incident")
        _log("note", incident_id, person)
        return _acted(incident, "noted")

    async def _page_action(
        self, request: web.Request, action: Action, form: dict[str, str], body: Acting | None = None
    ) -> web.Response:
        """An action of the incident page, answered in its words; ``body`` when the handler
        has read one already (else it is read for ``by``)."""

        async def act(incident: Incident, person: str, now: datetime) -> Answer:
            return await self.actions.act(incident, action, person, form, now)

        return await self._answer(request, action.value, act, body)

    async def _answer(
        self,
        request: web.Request,
        event: str,
        act: Callable[[Incident, str, datetime], Awaitable[Answer]],
        body: Acting | None,
    ) -> web.Response:
        incident_id = request.match_info["id"]
        try:
            person = await self._who(request) if body is None else self._person(request, body)
        except BadBody as error:
            return _error(error.status, str(error))
        incident = await self.store.get(incident_id)
        if incident is None:
            return _error(404, "no such incident")
        try:
            answer = await act(incident, person, self.clock())
        except BadRequest as error:
            return _error(400, str(error))
        except IncidentNotFound:
            return _error(404, "no such incident")
        if answer.status != 200:
            return _error(answer.status, answer.message)
        if answer.changed:
            _log(event, incident_id, person)
        return _acted(answer.incident, answer.message)

    async def _who(self, request: web.Request) -> str:
        """The person the body names, else the token (``token:NAME``)."""
        acting = await read_model(request, Acting, limit=MAX_ACTION_BYTES, empty=Acting())
        return self._person(request, acting)

    def _person(self, request: web.Request, acting: Acting) -> str:
        if acting.by is None:
            return request[TOKEN].person
        if acting.by not in self.config.current.config.people:
            raise BadBody(400, f"by: {acting.by!r} is not a person in the configuration")
        return acting.by


def _acted(incident: Incident, result: str) -> web.Response:
    return web.json_response({"result": result, "incident": incident.model_dump(mode="json")})


def _log(event: str, incident_id: str, person: str) -> None:
    log.info(
        "incident %s %s by %s over the API",
        incident_id,
        event,
        person,
        extra={"event": event, "incident": incident_id, "person": person},
    )


def _whole(text: str) -> int | None:
    """ASCII digits only: ``int()`` also takes spaces, signs, underscores, other scripts."""
    if not (text.isascii() and text.isdigit()):
        return None
    try:
        return int(text)
    except ValueError:  # more digits than Python converts
        return None


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def add_routes(app: web.Application, api: IncidentsApi) -> None:
    app.router.add_get("/api/v1/incidents", api.list)
    app.router.add_get("/api/v1/incidents/{id}", api.get)
    app.router.add_post("/api/v1/incidents/{id}/acknowledge", api.acknowledge)
    app.router.add_post("/api/v1/incidents/{id}/resolve", api.resolve)
    app.router.add_post("/api/v1/incidents/{id}/escalate", api.escalate)
    app.router.add_post("/api/v1/incidents/{id}/snooze", api.snooze)
    app.router.add_post("/api/v1/incidents/{id}/reassign", api.reassign)
    app.router.add_post("/api/v1/incidents/{id}/severity", api.severity)
    app.router.add_post("/api/v1/incidents/{id}/notes", api.note)
