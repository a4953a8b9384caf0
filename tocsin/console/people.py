"""``/people/{id}``: one person's next shifts across schedules for two weeks, the open
incidents they have and those paging them that nobody has yet, how they are reached (the
methods' names, never an address or a secret) and their calendar feed's URL. ``/people/me``
is the signed-in viewer's own page (so a person whose id is ``me`` is reached that way only
by themselves)."""

import asyncio
from urllib.parse import quote

import aiohttp_jinja2
from aiohttp import web

from notifier.channels.render import format_time
from notifier.rules import METHODS
from router.models import Incident, IncidentStatus, TimelineKind
from router.store import IncidentStore
from tocsin.console.auth import Gate
from tocsin.console.incidents import owner_of
from tocsin.oncall_api import OnCallApi
from tocsin.oncall_view import AHEAD

ME = "me"
LISTED = 500
"""Incidents the person page reads, newest first, for the unresolved ones among them."""
PAGED_CHECKED = 20
"""Open incidents nobody has (the newest first) whose timelines are read for pages to the
person: a bound on one view's work in a storm."""


def person_url(person: str) -> str:
    return "/people/" + quote(person, safe="")


class PersonPages:
    def __init__(self, gate: Gate, oncall: OnCallApi, store: IncidentStore) -> None:
        self.gate = gate
        self.oncall = oncall
        self.store = store

    async def show(self, request: web.Request) -> web.Response:
        viewer = self.gate.page_viewer(request)
        asked = request.match_info["id"]
        person_id = viewer.person if asked == ME else asked
        person = self.oncall.config.current.config.people.get(person_id)
        if person is None:
            raise web.HTTPNotFound(text="no such person")
        now = self.gate.clock()
        shifts = await self.oncall.shifts_of(person_id, now, now + AHEAD)
        listed = await self.store.list(limit=LISTED)
        unresolved = [i for i in listed if i.status is not IncidentStatus.RESOLVED]
        context = {
            "viewer": viewer,
            "person": shifts,
            "own": person_id == viewer.person,
            "incidents": [i for i in unresolved if owner_of(i) == person_id],
            "paging": await self._paging(person_id, unresolved),
            "methods": [name for name, has in METHODS.items() if has(person)],
            "time": format_time,
        }
        return aiohttp_jinja2.render_template("person.html", request, context)

    async def _paging(self, person: str, incidents: list[Incident]) -> list[Incident]:
        """Those of ``incidents`` nobody has whose current paging run paged ``person``."""
        waiting = [i for i in incidents if owner_of(i) is None][:PAGED_CHECKED]
        timelines = await asyncio.gather(*(self.store.timeline(i.id) for i in waiting))
        return [
            incident
            for incident, timeline in zip(waiting, timelines, strict=True)
            if any(
                e.kind is TimelineKind.PAGED
                and e.person == person
                and e.epoch in (None, incident.page_epoch)
                for e in timeline
            )
        ]
