"""``/api/v1``: incidents as JSON, for scripts and dashboards."""

from typing import Any

from aiohttp import web

from router.models import Incident
from router.store import IncidentStore

MAX_LIMIT = 500
MAX_OFFSET = 1_000_000_000
"""Far past any real history, and small enough for Redis's 64-bit ranges."""


class IncidentsApi:
    def __init__(self, store: IncidentStore) -> None:
        self.store = store

    async def list(self, request: web.Request) -> web.Response:
        limit = _whole(request.query.get("limit", "100"))
        offset = _whole(request.query.get("offset", "0"))
        if limit is None or offset is None:
            return _error(400, "limit and offset must be whole numbers")
        if not (1 <= limit <= MAX_LIMIT and offset <= MAX_OFFSET):
            return _error(400, f"limit must be 1..{MAX_LIMIT} and offset 0..{MAX_OFFSET}")
        incidents = await self.store.list(limit=limit, offset=offset)
        return web.json_response({"incidents": [present(i) for i in incidents]})

    async def get(self, request: web.Request) -> web.Response:
        incident = await self.store.get(request.match_info["id"])
        if incident is None:
            return _error(404, "no such incident")
        return web.json_response(present(incident))


def present(incident: Incident) -> dict[str, Any]:
    """The stored incident with its alerts as a list (their keys are internal)."""
    body = incident.model_dump(mode="json")
    body["alerts"] = list(body["alerts"].values())
    return body


def _whole(text: str) -> int | None:
    """ASCII digits only: ``int()`` also takes spaces, signs, underscores, other scripts."""
    if not (text.isascii() and text.isdigit()):
        return None
    try:
        return int(text)
    except ValueError:  # more digits than Python converts
        return None


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def add_routes(app: web.Application, api: IncidentsApi) -> None:
    app.router.add_get("/api/v1/incidents", api.list)
    app.router.add_get("/api/v1/incidents/{id}", api.get)
