"""``/api/v1/schedules/{name}/overrides``: ``tocsin override`` over HTTP, for chat bots and
tools that swap shifts. A POST needs a write token; the body is
``{"person": "bob", "from": "2026-12-24T09:00", "to": "2026-12-27T09:00", "note": "..."}``,
times without an offset read in the schedule's zone."""

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from ingest.clock import Clock
from schedules.override_store import OverrideNotFound, OverrideStore
from schedules.stored import MAX_NOTE, OverrideRefused, StoredOverride, checked, read_time
from tocsin.api_auth import TOKEN
from tocsin.json_body import BadBody, read_model
from tocsin.reloading import ConfigHolder

MAX_BODY_BYTES = 4096


class OverrideRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    person: str
    start: str = Field(alias="from")
    end: str = Field(alias="to")
    note: str = Field(default="", max_length=MAX_NOTE)


class OverridesApi:
    def __init__(self, store: OverrideStore, config: ConfigHolder, clock: Clock) -> None:
        self.store = store
        self.config = config
        self.clock = clock

    async def list(self, request: web.Request) -> web.Response:
        schedule = self.config.current.schedules.get(request.match_info["name"])
        if schedule is None:
            return _no_schedule(request)
        found = await self.store.current(schedule.name, self.clock())
        return web.json_response({"overrides": [o.model_dump(mode="json") for o in found]})

    async def create(self, request: web.Request) -> web.Response:
        schedule = self.config.current.schedules.get(request.match_info["name"])
        if schedule is None:
            return _no_schedule(request)
        try:
            asked = await read_model(request, OverrideRequest, limit=MAX_BODY_BYTES)
        except BadBody as error:
            return _error(error.status, str(error))
        now = self.clock()
        try:
            override = checked(
                StoredOverride(
                    id="",
                    schedule=schedule.name,
                    person=asked.person,
                    start=read_time(asked.start, schedule.zone, "from"),
                    end=read_time(asked.end, schedule.zone, "to"),
                    note=asked.note,
                    created_at=now,
                    created_by=f"token:{request[TOKEN].name}",
                ),
                self.config.current.config.people,
                now,
            )
        except OverrideRefused as error:
            return _error(400, str(error))
        saved = await self.store.add(override, now)
        return web.json_response(saved.model_dump(mode="json"), status=201)

    async def remove(self, request: web.Request) -> web.Response:
        schedule = self.config.current.schedules.get(request.match_info["name"])
        if schedule is None:
            return _no_schedule(request)
        try:
            await self.store.remove(schedule.name, request.match_info["id"], self.clock())
        except OverrideNotFound as error:
            return _error(404, str(error))
        return web.Response(status=204)


def _no_schedule(request: web.Request) -> web.Response:
    return _error(404, f"no schedule {request.match_info['name']!r}")


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def add_routes(app: web.Application, api: OverridesApi) -> None:
    overrides = "/api/v1/schedules/{name}/overrides"
    app.router.add_get(overrides, api.list)
    app.router.add_post(overrides, api.create)
    app.router.add_delete(overrides + "/{id}", api.remove)
