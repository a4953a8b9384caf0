"""Who may use the HTTP API: ``Authorization: Bearer <token>`` (``tocsin.tokens``) on every
``/api/v1`` route, and on the silence API and ``/metrics`` when ``api_auth`` says so.

Webhooks (their integration's token is in the URL) and acknowledge pages (the signed link is
the credential) are not checked here: whoever pages must never need an API token to stop
the ringing."""

import json
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from ingest.clock import Clock
from tocsin.tokens import ApiToken, Scope, TokenRefused, TokenStore

API_V1 = "/api/v1/"
SILENCES_API = "/api/v2/"
METRICS = "/metrics"
EXPLAIN = "/api/v1/explain"
"""A POST that only reads, but reveals who is on call: read scope."""

TOKEN = web.RequestKey("api_token", ApiToken)
"""The token a request was allowed with, for handlers that record who acted."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_READING = frozenset({"GET", "HEAD"})


class Access(StrEnum):
    OPEN = "open"
    TOKEN = "token"


class ApiAuthConfig(BaseModel):
    """``api_auth`` in ``tocsin.yaml``. ``/api/v1`` always needs a token."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    silences: Access = Access.OPEN
    """Open by default, as Alertmanager's own API is, so ``amtool`` works with nothing set."""
    metrics: Access = Access.OPEN
    """Open by default: Prometheus scrapes without credentials unless told otherwise."""


def needed_scope(method: str, path: str, config: ApiAuthConfig) -> Scope | None:
    """The scope a request needs, or ``None`` when it is open to anyone. Anything but a
    plain read is taken for a write, so a method no route has is never cheaper to send."""
    reads = method in _READING or (method == "POST" and path == EXPLAIN)
    scope = Scope.READ if reads else Scope.WRITE
    if path.startswith(API_V1):
        return scope
    if path.startswith(SILENCES_API) and config.silences is Access.TOKEN:
        return scope
    if path == METRICS and config.metrics is Access.TOKEN:
        return Scope.READ
    return None


class ApiAuth:
    def __init__(self, tokens: TokenStore, config: ApiAuthConfig, clock: Clock) -> None:
        self.tokens = tokens
        self.config = config
        self.clock = clock

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        needed = needed_scope(request.method, request.path, self.config)
        if needed is None:
            return await handler(request)
        given = _bearer(request.headers.get("Authorization"))
        if given is None:
            return _refused(401, "an API token is needed: Authorization: Bearer <token>", None)
        try:
            token = await self.tokens.check(given, self.clock())
        except TokenRefused as error:
            return _refused(401, str(error), "invalid_token")
        if not token.scope.allows(needed):
            return _refused(403, f"this needs a {needed} token", "insufficient_scope")
        request[TOKEN] = token
        return await handler(request)


def _bearer(header: str | None) -> str | None:
    """The credentials of ``Bearer <token>`` (the scheme in any case, RFC 7235)."""
    if header is None:
        return None
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


def _refused(status: Literal[401, 403], message: str, error: str | None) -> web.Response:
    # RFC 6750: a 401 says how to authenticate; the error code tells a client why not.
    challenge = "Bearer" if error is None else f'Bearer error="{error}"'
    return web.Response(
        status=status,
        text=json.dumps({"error": message}),
        content_type="application/json",
        headers={"WWW-Authenticate": challenge},
    )
