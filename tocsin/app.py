"""The one aiohttp application factory, used by ``tocsin web``/``up`` and by the tests."""

import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from redis.exceptions import RedisError

from ingest.config import webhook_integrations
from ingest.heartbeat_store import HeartbeatStore
from ingest.heartbeat_web import HeartbeatPings
from ingest.heartbeat_web import add_routes as add_heartbeat_routes
from ingest.heartbeats import heartbeats_of
from ingest.stream import alert_stream
from ingest.watchdogs import WatchdogFeed
from ingest.web import Webhooks
from ingest.web import add_routes as add_webhook_routes
from notifier.ack_web import AckPages
from notifier.ack_web import add_routes as add_ack_routes
from router.silence_store import SilenceStore
from router.store import IncidentStore
from tocsin.api import IncidentsApi
from tocsin.api import add_routes as add_api_routes
from tocsin.explain_api import ExplainApi
from tocsin.explain_api import add_routes as add_explain_routes
from tocsin.health import add_health_routes
from tocsin.runtime import Runtime
from tocsin.silences_api import SilencesApi
from tocsin.silences_api import add_routes as add_silence_routes

log = logging.getLogger(__name__)

API_PREFIX = "/api/"
"""Answers under it are JSON, errors too: their readers are scripts."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def make_app(runtime: Runtime) -> web.Application:
    app = web.Application(middlewares=[_no_tracebacks])
    config = runtime.loaded.config
    store = IncidentStore(runtime.redis)
    beats = HeartbeatStore(runtime.redis)
    alerts = alert_stream(runtime.redis, runtime.settings.durability)
    webhooks = Webhooks(
        integrations=webhook_integrations(config.integrations),
        stream=WatchdogFeed(alerts, heartbeats_of(config.integrations), beats, runtime.clock),
        registry=runtime.registry,
        clock=runtime.clock,
    )
    add_webhook_routes(app, webhooks)
    add_heartbeat_routes(
        app,
        HeartbeatPings(
            integrations=config.integrations,
            store=beats,
            clock=runtime.clock,
            registry=runtime.registry,
        ),
    )
    add_ack_routes(app, AckPages(store, runtime.secret, runtime.clock, config.people))
    add_api_routes(app, IncidentsApi(store))
    add_silence_routes(app, SilencesApi(SilenceStore(runtime.redis), runtime.clock))
    add_explain_routes(app, ExplainApi(runtime.loaded, runtime.redis, runtime.clock))

    add_health_routes(app, runtime)
    return app


@web.middleware
async def _no_tracebacks(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Whatever goes wrong, a client gets a short JSON error, never a stack trace (pages
    for people keep aiohttp's plain answers to a wrong address or method)."""
    try:
        return await handler(request)
    except web.HTTPException as error:
        if error.status < 400 or not request.path.startswith(API_PREFIX):
            raise
        response = _json_error(error.status, error.reason.lower())
        if "Allow" in error.headers:  # a 405 says which methods would do
            response.headers["Allow"] = error.headers["Allow"]
        return response
    except (RedisError, OSError, TimeoutError) as error:
        log.warning("storage unavailable for %s %s: %s", request.method, _route(request), error)
        response = _json_error(503, "storage unavailable, try again")
        response.headers["Retry-After"] = "5"
        return response
    except Exception:
        log.exception("unexpected error for %s %s", request.method, _route(request))
        return _json_error(500, "internal error")


def _route(request: web.Request) -> str:
    """The route's pattern, not the path: a path may hold a credential (``/ack/{token}``)."""
    resource = request.match_info.route.resource
    return "(no route)" if resource is None else resource.canonical


def _json_error(status: int, message: str) -> web.Response:
    return web.Response(
        status=status, text=json.dumps({"error": message}), content_type="application/json"
    )
