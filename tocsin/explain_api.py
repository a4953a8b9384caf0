"""``POST /api/v1/explain``: ``tocsin explain`` over HTTP. The body names the integration, the
payload as its webhook would receive it, and optionally the instant:
``{"integration": "prod-am", "payload": {...}, "at": "2026-03-02T03:00:00Z"}``; the answer is
the explanation (``notifier.explain.Explanation``) as JSON. Kept to itself, so a check of
who may ask can wrap it."""

from aiohttp import web
from pydantic import BaseModel, ConfigDict, JsonValue
from redis.asyncio import Redis

from ingest.clock import Clock
from ingest.config import pick_integration
from notifier.explain import alerts_of, explain
from tocsin.api_auth import EXPLAIN
from tocsin.explaining import live_covers, live_facts, parse_at
from tocsin.json_body import BadBody, read_model
from tocsin.reloading import ConfigHolder


class ExplainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    integration: str | None = None
    """Its name, or its type when one integration has it; needed when there are several."""
    payload: JsonValue
    at: str | None = None


class ExplainApi:
    def __init__(self, config: ConfigHolder, redis: Redis, clock: Clock) -> None:
        self.config = config
        self.redis = redis
        self.clock = clock

    async def explain(self, request: web.Request) -> web.Response:
        try:
            asked = await read_model(request, ExplainRequest)
        except BadBody as error:
            return _error(error.status, str(error))
        now = self.clock()
        # One configuration for the whole answer, whatever a reload does meanwhile.
        loaded = self.config.current
        try:
            integration = pick_integration(loaded.config.integrations, asked.integration)
            at, notes = parse_at(asked.at, now)
        except ValueError as error:
            return _error(400, str(error))
        alerts = alerts_of(integration, asked.payload, at)
        routing = loaded.routing
        facts = await live_facts(self.redis, routing, alerts, now)
        stored = await live_covers(self.redis, loaded.schedules, now)
        told = explain(
            routing, loaded.directory, integration, asked.payload, at, facts, notes, stored
        )
        return web.json_response(told.model_dump(mode="json"))


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def add_routes(app: web.Application, api: ExplainApi) -> None:
    app.router.add_post(EXPLAIN, api.explain)
