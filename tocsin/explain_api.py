"""``POST /api/v1/explain``: ``tocsin explain`` over HTTP. The body names the integration, the
payload as its webhook would receive it, and optionally the instant:
``{"integration": "prod-am", "payload": {...}, "at": "2026-03-02T03:00:00Z"}``; the answer is
the explanation (``notifier.explain.Explanation``) as JSON. Kept to itself, so a check of
who may ask can wrap it."""

from aiohttp import web
from pydantic import BaseModel, ConfigDict, JsonValue, ValidationError
from redis.asyncio import Redis

from ingest.body import (
    BodyTimeout,
    BodyTooLarge,
    ClientDisconnected,
    MalformedJson,
    decode_json,
    read_limited,
)
from ingest.clock import Clock
from ingest.config import pick_integration
from ingest.web import BODY_DEADLINE, MAX_BODY_BYTES
from notifier.explain import alerts_of, explain
from schedules.yamlfile import format_loc
from tocsin.config import LoadedConfig
from tocsin.explaining import live_facts, parse_at

PATH = "/api/v1/explain"


class ExplainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    integration: str | None = None
    """Its name, or its type when one integration has it; needed when there are several."""
    payload: JsonValue
    at: str | None = None


class ExplainApi:
    def __init__(self, loaded: LoadedConfig, redis: Redis, clock: Clock) -> None:
        self.loaded = loaded
        self.routing = loaded.routing
        self.directory = loaded.directory
        self.redis = redis
        self.clock = clock

    async def explain(self, request: web.Request) -> web.Response:
        try:
            raw = await read_limited(request, MAX_BODY_BYTES, BODY_DEADLINE)
            asked = ExplainRequest.model_validate(decode_json(raw))
        except BodyTooLarge as error:
            return _error(413, str(error))
        except BodyTimeout as error:
            return _error(408, str(error))
        except (ClientDisconnected, MalformedJson) as error:
            return _error(400, str(error) or "the connection closed before the whole body")
        except ValidationError as error:
            return _error(400, _say(error))
        now = self.clock()
        try:
            integration = pick_integration(self.loaded.config.integrations, asked.integration)
            at, notes = parse_at(asked.at, now)
        except ValueError as error:
            return _error(400, str(error))
        alerts = alerts_of(integration, asked.payload, at)
        facts = await live_facts(self.redis, self.routing, alerts, now)
        told = explain(self.routing, self.directory, integration, asked.payload, at, facts, notes)
        return web.json_response(told.model_dump(mode="json"))


def _say(error: ValidationError) -> str:
    return "; ".join(
        f"{format_loc(detail['loc']) or 'the body'}: {detail['msg']}"
        for detail in error.errors(include_url=False)
    )


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def add_routes(app: web.Application, api: ExplainApi) -> None:
    app.router.add_post(PATH, api.explain)
