"""``/api/v1/oncall``, ``/api/v1/schedules[/{name}]`` and ``/api/v1/people/{id}/shifts``: who
is on call, for chat bots, dashboards and scripts (a read token). The console's on-call and
person pages ask here too, so both show the same thing (``tocsin.oncall_view``).

A range is ``?since=&until=``, ISO 8601, a time without offset read as UTC; by default from
now for two weeks, at most ``MAX_RANGE``."""

from datetime import UTC, datetime, timedelta

from aiohttp import web
from pydantic import BaseModel

from ingest.clock import Clock
from notifier.directory import Directory
from schedules.override_store import OverrideStore
from tocsin.calendar_feeds import feed_url
from tocsin.explaining import parse_at
from tocsin.http_errors import json_error
from tocsin.oncall_view import (
    AHEAD,
    OnCallNow,
    PersonShifts,
    ScheduleList,
    ScheduleShifts,
    name_of,
    on_call_now,
    person_shifts,
    schedule_range,
)
from tocsin.reloading import ConfigHolder

MAX_RANGE = timedelta(days=90)
"""A quarter's rota, and a bound on one request's work."""
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
"""Far from the ends of Python's calendar, where a rotation's arithmetic would overflow."""


class BadRange(ValueError):
    """A ``since`` or ``until`` that cannot be used, saying which and why."""


def shift_range(
    since_text: str | None, until_text: str | None, now: datetime
) -> tuple[datetime, datetime]:
    """``[since, until)`` of a request, in UTC; ``BadRange`` names the parameter."""
    since = _instant("since", since_text, now)
    until = _instant("until", until_text, since + AHEAD)
    if since >= until:
        raise BadRange("since must be before until")
    if until - since > MAX_RANGE:
        raise BadRange(f"the range is longer than {MAX_RANGE.days} days: ask for less")
    return since, until


def _instant(name: str, text: str | None, default: datetime) -> datetime:
    try:
        at = parse_at(text, default)[0].astimezone(UTC)
    except (ValueError, OverflowError) as error:  # Overflow: an offset at the calendar's ends
        raise BadRange(f"{name}: {error}") from None
    if not EARLIEST <= at <= LATEST:
        raise BadRange(f"{name}: ask for a time from {EARLIEST.year} to {LATEST.year}")
    return at


class OnCallApi:
    def __init__(
        self,
        config: ConfigHolder,
        overrides: OverrideStore,
        clock: Clock,
        *,
        base_url: str,
        secret: bytes,
    ) -> None:
        self.config = config
        """Read per request: schedules and people are taken up as they are edited."""
        self.overrides = overrides
        self.clock = clock
        self.base_url = base_url
        self.secret = secret
        """Signs the calendar feed URLs handed out."""

    async def now(self) -> OnCallNow:
        directory = self.config.current.directory
        now = self.clock()
        covers = await self.overrides.covers_of(directory.schedules, now)
        return on_call_now(directory, now, covers)

    async def shifts_of(self, person: str, since: datetime, until: datetime) -> PersonShifts:
        """``person``'s shifts (a configured person) over ``[since, until)``."""
        directory = self.config.current.directory
        covers = await self.overrides.covers_of(directory.schedules, since)
        return PersonShifts(
            person=person,
            name=name_of(directory, person),
            calendar_url=feed_url(self.base_url, "person", person, self.secret),
            since=since,
            until=until,
            shifts=person_shifts(directory, person, since, until, covers),
        )

    async def oncall(self, _: web.Request) -> web.Response:
        return _answer(await self.now())

    async def schedules(self, request: web.Request) -> web.Response:
        directory = self.config.current.directory
        try:
            since, until = self._range(request)
        except BadRange as error:
            return json_error(400, str(error))
        found = await self._shifts(directory, sorted(directory.schedules), since, until)
        return _answer(ScheduleList(schedules=found))

    async def schedule(self, request: web.Request) -> web.Response:
        directory = self.config.current.directory  # one reading: a reload may drop the name
        name = request.match_info["name"]
        if name not in directory.schedules:
            return json_error(404, f"no schedule {name!r}")
        try:
            since, until = self._range(request)
        except BadRange as error:
            return json_error(400, str(error))
        (found,) = await self._shifts(directory, [name], since, until)
        return _answer(found)

    async def person(self, request: web.Request) -> web.Response:
        person = request.match_info["id"]
        if person not in self.config.current.config.people:
            return json_error(404, f"no person {person!r}")
        try:
            since, until = self._range(request)
        except BadRange as error:
            return json_error(400, str(error))
        return _answer(await self.shifts_of(person, since, until))

    async def _shifts(
        self, directory: Directory, names: list[str], since: datetime, until: datetime
    ) -> list[ScheduleShifts]:
        covers = await self.overrides.covers_of(names, since)
        return [
            schedule_range(directory, directory.schedules[name], since, until, covers)
            for name in names
        ]

    def _range(self, request: web.Request) -> tuple[datetime, datetime]:
        return shift_range(request.query.get("since"), request.query.get("until"), self.clock())


def _answer(answer: BaseModel) -> web.Response:
    return web.json_response(answer.model_dump(mode="json"))


def add_routes(app: web.Application, api: OnCallApi) -> None:
    app.router.add_get("/api/v1/oncall", api.oncall)
    app.router.add_get("/api/v1/schedules", api.schedules)
    app.router.add_get("/api/v1/schedules/{name}", api.schedule)
    app.router.add_get("/api/v1/people/{id}/shifts", api.person)
