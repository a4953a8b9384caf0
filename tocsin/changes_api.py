"""``GET /api/v1/changes``: the latest change events (PagerDuty's ``/v2/change/enqueue``),
newest first, to see what changed around an incident."""

from collections.abc import Sequence

from aiohttp import web

from ingest.changes import MAX_CHANGES, ChangeLog
from ingest.config import Integration


class ChangesApi:
    def __init__(self, changes: ChangeLog, integrations: Sequence[Integration]) -> None:
        self.changes = changes
        self.configure(integrations)

    def configure(self, integrations: Sequence[Integration]) -> None:
        """From the next request on, list the changes these integrations recorded."""
        self.names = [i.name for i in integrations if i.type == "pagerduty"]

    async def list(self, request: web.Request) -> web.Response:
        """``?integration=NAME`` for one integration's; ``?limit=`` 1..1000 (100)."""
        limit_text = request.query.get("limit", "100")
        if not (limit_text.isascii() and limit_text.isdigit()) or not (
            1 <= int(limit_text) <= MAX_CHANGES
        ):
            return _error(f"limit must be a whole number from 1 to {MAX_CHANGES}")
        wanted = request.query.get("integration")
        if wanted is not None and wanted not in self.names:
            known = ", ".join(self.names) or "none configured"
            return _error(f"no pagerduty integration {wanted!r} (known: {known})")
        names = self.names if wanted is None else [wanted]
        changes = await self.changes.latest(names, int(limit_text)) if names else []
        return web.json_response({"changes": [c.model_dump(mode="json") for c in changes]})


def _error(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


def add_routes(app: web.Application, api: ChangesApi) -> None:
    app.router.add_get("/api/v1/changes", api.list)
