"""Pings: ``GET|POST /v1/heartbeats/{token}``, or ``/v1/heartbeats`` with the token in
``Authorization: Bearer``. Whatever the body, a ping only says "still alive"; the body is
never read.

- 200 ``{"heartbeat": name, "next_due": time}``: recorded, and a missed heartbeat resolved.
- 401 (no token given), 404 (a token of no heartbeat, answered as a wrong webhook token is).
- 503 with ``Retry-After``: the store is away; ping again.
"""

import hmac
import logging
from collections.abc import Sequence

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter
from redis.exceptions import RedisError

from ingest.clock import Clock
from ingest.config import HEARTBEAT, Integration
from ingest.heartbeat_store import HeartbeatStore
from ingest.heartbeats import Heartbeat, heartbeats_of
from ingest.web import RETRY_AFTER_SECONDS

log = logging.getLogger(__name__)

PING_PATH = "/v1/heartbeats/{token}"
BEARER_PATH = "/v1/heartbeats"
_UNKNOWN = {"error": "unknown heartbeat"}


class HeartbeatPings:
    """Registers its metrics on ``registry``, so build one per registry."""

    def __init__(
        self,
        *,
        integrations: Sequence[Integration],
        store: HeartbeatStore,
        clock: Clock,
        registry: CollectorRegistry,
    ) -> None:
        self._store = store
        self._clock = clock
        self._pings = Counter(
            "tocsin_heartbeat_pings",
            "Pings received, by heartbeat.",
            ["heartbeat"],
            registry=registry,
        )
        self.configure(integrations)

    def configure(self, integrations: Sequence[Integration]) -> None:
        """Take the pings of exactly these heartbeats from the next request on."""
        by_name = {heartbeat.name: heartbeat for heartbeat in heartbeats_of(integrations)}
        for heartbeat in by_name.values():
            self._pings.labels(heartbeat.name)
        # One assignment: a ping finds its token in the old list or the new, whole.
        self._tokens = [
            (by_name[integration.name], _secret(integration.token))
            for integration in integrations
            if integration.type == HEARTBEAT
        ]

    async def ping(self, request: web.Request) -> web.Response:
        return await self._ping(request.match_info["token"])

    async def ping_with_header(self, request: web.Request) -> web.Response:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            error = {"error": "give the heartbeat's token as Authorization: Bearer TOKEN"}
            return web.json_response(error, status=401, headers={"WWW-Authenticate": "Bearer"})
        return await self._ping(token.strip())

    async def _ping(self, token: str) -> web.Response:
        heartbeat = self._authenticate(token)
        if heartbeat is None:
            return web.json_response(_UNKNOWN, status=404)
        now = self._clock()
        try:
            resumed = await self._store.ping([heartbeat], now)
        except (RedisError, OSError) as error:
            log.warning("store unavailable, refused a ping of %s: %s", heartbeat.name, error)
            return web.json_response(
                {"error": "the store is unavailable; nothing was recorded, ping again"},
                status=503,
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        self._pings.labels(heartbeat.name).inc()
        if resumed:
            log.info(
                "heartbeat %s back",
                heartbeat.name,
                extra={"event": "heartbeat_back", "heartbeat": heartbeat.name},
            )
        next_due = now + heartbeat.interval
        return web.json_response({"heartbeat": heartbeat.name, "next_due": next_due.isoformat()})

    def _authenticate(self, token: str) -> Heartbeat | None:
        # Against every token, so the time taken does not tell which exist.
        presented = _secret(token)
        found = None
        for heartbeat, expected in self._tokens:
            if hmac.compare_digest(expected, presented):
                found = heartbeat
        return found


def _secret(token: str) -> bytes:
    # compare_digest takes str only when ASCII; a URL may decode to any str, even surrogates.
    return token.encode("utf-8", "surrogatepass")


def add_routes(app: web.Application, pings: HeartbeatPings) -> None:
    for path, handler in ((PING_PATH, pings.ping), (BEARER_PATH, pings.ping_with_header)):
        app.router.add_get(path, handler)
        app.router.add_post(path, handler)
