"""Answers when a request goes wrong, for every role's HTTP server: JSON errors for scripts,
a 503 while the store is away, and never a stack trace."""

import json
import logging

from aiohttp import web
from redis.exceptions import RedisError

from tocsin.api_auth import Handler

log = logging.getLogger(__name__)

API_PREFIX = "/api/"
"""Answers under it are JSON, errors too: their readers are scripts."""


@web.middleware
async def no_tracebacks(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Whatever goes wrong, a client gets a short JSON error, never a stack trace (pages
    for people keep aiohttp's plain answers to a wrong address or method)."""
    try:
        return await handler(request)
    except web.HTTPException as error:
        if error.status < 400 or not request.path.startswith(API_PREFIX):
            raise
        response = json_error(error.status, error.reason.lower())
        if "Allow" in error.headers:  # a 405 says which methods would do
            response.headers["Allow"] = error.headers["Allow"]
        return response
    except (RedisError, OSError, TimeoutError) as error:
        log.warning("storage unavailable for %s %s: %s", request.method, route_of(request), error)
        response = json_error(503, "storage unavailable, try again")
        response.headers["Retry-After"] = "5"
        return response
    except Exception:
        log.exception("unexpected error for %s %s", request.method, route_of(request))
        return json_error(500, "internal error")


def route_of(request: web.Request) -> str:
    """The route's pattern, not the path: a path may hold a credential (``/ack/{token}``)."""
    resource = request.match_info.route.resource
    return "(no route)" if resource is None else resource.canonical


def json_error(status: int, message: str) -> web.Response:
    return web.Response(
        status=status, text=json.dumps({"error": message}), content_type="application/json"
    )
