"""Silences over HTTP, shaped like Alertmanager's API v2 (``/api/v2/silences``,
``/api/v2/silence/{id}``), so ``amtool silence add|query|expire`` pointed at Tocsin with
``--alertmanager.url`` works as it does against Alertmanager; and the same under
``/api/v1/silences``, behind API tokens and with errors as the rest of ``/api/v1`` says
them, for scripts that use the other ``/api/v1`` routes."""

import json
from collections.abc import Callable

from aiohttp import web
from pydantic import ValidationError

from ingest.clock import Clock
from router.matchers import Matcher, MatcherError, matches_all, parse_matcher
from router.silence_store import SilenceNotFound, SilenceStore
from router.silences import Silence
from tocsin.http_errors import json_error

MAX_BODY_BYTES = 256 * 1024


Refusal = Callable[[int, str], web.Response]


class SilencesApi:
    def __init__(self, store: SilenceStore, clock: Clock, error: Refusal) -> None:
        self.store = store
        self.clock = clock
        self._error = error

    async def list(self, request: web.Request) -> web.Response:
        """Every silence; ``filter`` (repeatable, a matcher each) keeps those whose own
        matchers include every one given, as Alertmanager does."""
        try:
            wanted = [parse_matcher(text) for text in request.query.getall("filter", [])]
        except MatcherError as error:
            return self._error(400, str(error))
        now = self.clock()
        silences = await self.store.all(now)
        kept = [s for s in silences if not wanted or _covers(s, wanted)]
        return web.json_response([silence.as_api(now) for silence in kept])

    async def create(self, request: web.Request) -> web.Response:
        if (request.content_length or 0) > MAX_BODY_BYTES:
            return self._error(413, f"the body exceeds {MAX_BODY_BYTES} bytes")
        try:
            silence = Silence.model_validate(json.loads(await request.read()))
        except (ValueError, UnicodeDecodeError) as error:
            return self._error(400, _say(error))
        now = self.clock()
        if silence.ends_at <= max(now, silence.starts_at):
            return self._error(400, "endsAt must be after startsAt and in the future")
        try:
            saved = await self.store.save(silence, now)
        except SilenceNotFound as error:
            return self._error(404, str(error))
        return web.json_response({"silenceID": saved.id})

    async def get(self, request: web.Request) -> web.Response:
        try:
            silence = await self.store.get(request.match_info["id"])
        except SilenceNotFound as error:
            return self._error(404, str(error))
        return web.json_response(silence.as_api(self.clock()))

    async def expire(self, request: web.Request) -> web.Response:
        try:
            await self.store.expire(request.match_info["id"], self.clock())
        except SilenceNotFound as error:
            return self._error(404, str(error))
        return web.json_response({})


def _covers(silence: Silence, wanted: list[Matcher]) -> bool:
    """Alertmanager's reading of a filter: the silence's matchers, taken as labels, match
    every matcher of the filter."""
    labels = {matcher.name: matcher.value for matcher in silence.matchers}
    return matches_all(wanted, labels)


def _say(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
            for e in error.errors(include_url=False)
        )
    return f"invalid JSON: {error}"


def _alertmanager_error(status: int, message: str) -> web.Response:
    # Alertmanager answers errors as a JSON string; amtool prints it.
    return web.json_response(message, status=status)


def add_routes(app: web.Application, store: SilenceStore, clock: Clock) -> None:
    for api, many, one in [
        (SilencesApi(store, clock, _alertmanager_error), "/api/v2/silences", "/api/v2/silence"),
        (SilencesApi(store, clock, json_error), "/api/v1/silences", "/api/v1/silences"),
    ]:
        app.router.add_get(many, api.list)
        app.router.add_post(many, api.create)
        app.router.add_get(one + "/{id}", api.get)
        app.router.add_delete(one + "/{id}", api.expire)
