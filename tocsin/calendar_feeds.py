"""``GET /schedules/{name}.ics`` and ``GET /people/{id}.ics``: the coming shifts as calendar
feeds, overrides (files' and stored) included, gaps left out.

Calendar apps cannot send a bearer token, so the credential is in the URL: ``?token=`` is
an HMAC of the feed's name with the service's secret key (``tocsin calendar-url`` prints
it). A wrong token and an unknown name get the same 404, so names cannot be probed.
"""

import hashlib
import hmac
from collections.abc import Iterable
from datetime import timedelta

from aiohttp import web

from ingest.clock import Clock
from schedules.ics import FeedShift, feed
from schedules.oncall import holders
from schedules.override_store import OverrideStore
from tocsin.reloading import ConfigHolder

FEED_WEEKS = 8
"""How far ahead a feed reaches."""
PAST = timedelta(days=7)
"""How far back it reaches: last week's shifts stay in the calendar."""
SCHEDULE_FEED = "/schedules/{name}.ics"
PERSON_FEED = "/people/{name}.ics"


def feed_token(secret: bytes, kind: str, name: str) -> str:
    """The token of the ``kind`` ("schedule" or "person") feed of ``name``."""
    return hmac.new(secret, f"calendar:{kind}:{name}".encode(), hashlib.sha256).hexdigest()[:32]


def feed_path(kind: str, name: str, secret: bytes) -> str:
    template = SCHEDULE_FEED if kind == "schedule" else PERSON_FEED
    return f"{template.replace('{name}', name)}?token={feed_token(secret, kind, name)}"


def feed_url(base_url: str, kind: str, name: str, secret: bytes) -> str:
    """The whole URL a calendar app subscribes to, below the public URL ``base_url``."""
    return base_url.rstrip("/") + feed_path(kind, name, secret)


class CalendarFeeds:
    def __init__(
        self, config: ConfigHolder, overrides: OverrideStore, secret: bytes, clock: Clock
    ) -> None:
        self.config = config
        self.overrides = overrides
        self.secret = secret
        self.clock = clock

    async def schedule(self, request: web.Request) -> web.Response:
        name = self._allowed(request, "schedule", self.config.current.schedules)
        return await self._answer(name, [name], person=None)

    async def person(self, request: web.Request) -> web.Response:
        person = self._allowed(request, "person", self.config.current.config.people)
        schedules = [
            n for n, s in sorted(self.config.current.schedules.items()) if person in s.people
        ]
        return await self._answer(person, schedules, person=person)

    def _allowed(self, request: web.Request, kind: str, known: Iterable[str]) -> str:
        name = request.match_info["name"]
        token = request.query.get("token", "")
        if name not in known or not hmac.compare_digest(
            token.encode(), feed_token(self.secret, kind, name).encode()
        ):
            raise web.HTTPNotFound(text="no such calendar")
        return name

    async def _answer(
        self, title: str, schedules: list[str], *, person: str | None
    ) -> web.Response:
        """The shifts of ``schedules``, only ``person``'s when given."""
        now = self.clock()
        start = now.replace(hour=0, minute=0, second=0, microsecond=0) - PAST
        end = now + timedelta(weeks=FEED_WEEKS)
        stored = await self.overrides.covers_of(schedules, start)
        found = [
            FeedShift(name, shift.person, shift.start, shift.end)
            for name in schedules
            for shift in holders(self.config.current.schedules[name], start, end, stored[name])
            if shift.person is not None and person in (None, shift.person)
        ]
        names = {pid: person.name for pid, person in self.config.current.config.people.items()}
        body = feed(f"On call: {title}", found, names, now)
        return web.Response(body=body, content_type="text/calendar", charset="utf-8")


def add_routes(app: web.Application, feeds: CalendarFeeds) -> None:
    app.router.add_get(SCHEDULE_FEED, feeds.schedule)
    app.router.add_get(PERSON_FEED, feeds.person)
