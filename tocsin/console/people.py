"""``/people/{id}``: one person's next shifts across schedules for two weeks, the open
incidents they have, how they are reached (the methods' names, never an address or a
secret) and their calendar feed's URL. ``/people/me`` is the signed-in viewer's own page
(so a person whose id is ``me`` is reached that way only by themselves)."""

from urllib.parse import quote

import aiohttp_jinja2
from aiohttp import web

from notifier.channels.render import format_time
from notifier.rules import METHODS
from router.models import IncidentStatus
from router.store import IncidentStore
from tocsin.console.auth import Gate
from tocsin.console.incidents import LISTED, owner_of
from tocsin.oncall_api import OnCallApi
from tocsin.oncall_view import AHEAD

ME = "me"


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
        incidents = [
            i
            for i in await self.store.list(limit=LISTED)
            if i.status is not IncidentStatus.RESOLVED and owner_of(i) == person_id
        ]
        context = {
            "viewer": viewer,
            "person": shifts,
            "own": person_id == viewer.person,
            "incidents": incidents,
            "methods": [name for name, has in METHODS.items() if has(person)],
            "time": format_time,
        }
        return aiohttp_jinja2.render_template("person.html", request, context)
