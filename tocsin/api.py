"""``/api/v1``: incidents as JSON, for scripts and dashboards."""

from aiohttp import web

from router.store import MAX_ALERTS_PAGE, IncidentStore

MAX_LIMIT = 500
DEFAULT_ALERTS = 100
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
        return web.json_response({"incidents": [i.model_dump(mode="json") for i in incidents]})

    async def get(self, request: web.Request) -> web.Response:
        """One incident with a page of its alerts (``alerts_limit``, 1..1000, default 100;
        ``alerts_cursor`` from the previous page's ``alerts_next_cursor``) and its
        timeline."""
        limit = _whole(request.query.get("alerts_limit", str(DEFAULT_ALERTS)))
        cursor = _whole(request.query.get("alerts_cursor", "0"))
        if limit is None or cursor is None or not 1 <= limit <= MAX_ALERTS_PAGE:
            return _error(
                400, f"alerts_limit must be 1..{MAX_ALERTS_PAGE} and alerts_cursor a whole number"
            )
        incident_id = request.match_info["id"]
        incident = await self.store.get(incident_id)
        if incident is None:
            return _error(404, "no such incident")
        alerts, next_cursor = await self.store.alerts(incident_id, limit=limit, cursor=cursor)
        body = incident.model_dump(mode="json")
        body["alerts"] = [alert.model_dump(mode="json") for alert in alerts]
        body["alerts_next_cursor"] = next_cursor
        body["timeline"] = [
            e.model_dump(mode="json") for e in await self.store.timeline(incident_id)
        ]
        return web.json_response(body)


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
