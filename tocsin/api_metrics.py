"""``tocsin_api_requests_total{route,status}``: how the API is used and refused (401s from a
tool whose token expired show up here first)."""

from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client import CollectorRegistry, Counter

from tocsin.api_auth import Handler
from tocsin.http_errors import API_PREFIX, route_of


def counting(registry: CollectorRegistry) -> Middleware:
    requests = Counter(
        "tocsin_api_requests",
        "API requests answered, by route pattern and HTTP status",
        ["route", "status"],
        registry=registry,
    )

    @web.middleware
    async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        if request.path.startswith(API_PREFIX):
            # The pattern, not the path: ids would make a series per incident.
            requests.labels(route_of(request), str(response.status)).inc()
        return response

    return count
