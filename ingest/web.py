"""The webhook endpoint: ``POST /v1/webhooks/{source}/{token}``, or
``POST /v1/webhooks/{source}`` with the token in an ``Authorization`` header.

Authenticate the token (and the signature, for an integration with ``hmac_secret``), read a
bounded body, normalize it with the integration's source, and append the alerts to the
stream. The status tells the sender what to do:

- 202 ``{"accepted": n}``: the alerts are on the stream (the append is the commit point).
- 401: the integration requires a signature, and the request's is missing or wrong.
- 4xx: the request itself is wrong; resending it will not help. (408: the body did not
  arrive in time.) 429 with ``Retry-After``: the integration is over its ``rate_limit``.
- 503 with ``Retry-After``: nothing was accepted (the store is away, or the alerts are not
  yet as durable as ``TOCSIN_DURABILITY`` asks); resend later. Alertmanager retries 5xx and
  not 4xx.

Every answer is a JSON object; errors have an ``"error"`` message.
"""

import hmac
import logging
from collections.abc import Mapping, Sequence
from datetime import timedelta
from enum import StrEnum

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter
from redis.exceptions import RedisError

from ingest.body import (
    BodyTimeout,
    BodyTooLarge,
    ClientDisconnected,
    MalformedJson,
    decode_json,
    read_limited,
)
from ingest.clock import Clock
from ingest.config import Integration, check_integrations
from ingest.group_commit import Appends
from ingest.models import Alert
from ingest.ratelimit import Limited, RateLimiter
from ingest.signature import BadSignature, check_signature
from ingest.sources import SOURCES, FieldError, PayloadError
from ingest.stream import NotDurable

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/v1/webhooks/{source}/{token}"
HEADER_TOKEN_PATH = "/v1/webhooks/{source}"
MAX_BODY_BYTES = 1024 * 1024
BODY_DEADLINE = timedelta(seconds=10)
"""For the whole body; 1 MiB takes well under a second on any link a monitoring tool uses."""
RETRY_AFTER_SECONDS = 5
MAX_REPORTED_ERRORS = 100
"""An invalid 1 MiB list can hold thousands of bad fields; the sender needs the first few."""


class RejectReason(StrEnum):
    """The ``reason`` label of ``tocsin_webhooks_rejected_total``."""

    UNKNOWN_WEBHOOK = "unknown_webhook"
    BODY_TOO_LARGE = "body_too_large"
    BODY_TIMEOUT = "body_timeout"
    CLIENT_DISCONNECTED = "client_disconnected"
    MALFORMED_JSON = "malformed_json"
    BAD_SIGNATURE = "bad_signature"
    INVALID_PAYLOAD = "invalid_payload"
    RATE_LIMITED = "rate_limited"
    STREAM_UNAVAILABLE = "stream_unavailable"
    NOT_DURABLE = "not_durable"
    INTERNAL_ERROR = "internal_error"


_SERVED_ELSEWHERE = {"pagerduty"}
"""Types whose events arrive at an endpoint of their own (``ingest.events_v2``), which
gives a PagerDuty follow-up its trigger's labels."""


class Refused(Exception):
    """The request is answered with ``response`` (already counted)."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


_UNKNOWN_WEBHOOK = {"error": "unknown webhook"}
"""One answer for a wrong token, a wrong source and a malformed URL: a caller learns nothing
about which tokens or sources exist."""


class Webhooks:
    """The webhook handlers and what they depend on. Registers its metrics on ``registry``,
    so build one per registry."""

    def __init__(
        self,
        *,
        integrations: Sequence[Integration],
        stream: Appends[Alert],
        registry: CollectorRegistry,
        clock: Clock,
        limiter: RateLimiter | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
        body_deadline: timedelta = BODY_DEADLINE,
    ) -> None:
        """``limiter``: where integrations with a ``rate_limit`` keep their buckets; without
        one, no limit applies."""
        self._stream = stream
        self.clock = clock
        self._limiter = limiter
        self._max_body_bytes = max_body_bytes
        self._body_deadline = body_deadline
        self._received = Counter(
            "tocsin_alerts_received_total",
            "Alerts accepted onto the alert stream.",
            ["integration", "source"],
            registry=registry,
        )
        self._rejected = Counter(
            "tocsin_webhooks_rejected_total",
            "Webhook requests refused, by reason.",
            ["reason"],
            registry=registry,
        )
        for reason in RejectReason:
            self._rejected.labels(reason)
        self.configure(integrations)

    def configure(self, integrations: Sequence[Integration]) -> None:
        """Accept exactly these integrations from the next request on (an edited
        configuration taken up). A request already past its token check finishes with the
        integration it found: each is immutable, and holds all its request needs."""
        check_integrations(integrations)
        # Export zeros from the start, so rate() and alerts on these series work at once.
        for integration in integrations:
            self._received.labels(integration.name, integration.type)
        # One assignment: a request looks its token up in the old list or the new, whole.
        self._tokens = [(integration, _secret(integration.token)) for integration in integrations]

    async def receive(self, request: web.Request) -> web.Response:
        try:
            return await self._receive(request)
        except Exception:
            log.exception("webhook failed unexpectedly")
            error = "internal error; nothing was accepted, retry later"
            return self.refuse(500, RejectReason.INTERNAL_ERROR, {"error": error})

    async def unknown(self, request: web.Request) -> web.Response:
        """Anything else under the webhook prefix: answered like a wrong token, in JSON."""
        return self.refuse(404, RejectReason.UNKNOWN_WEBHOOK, _UNKNOWN_WEBHOOK)

    async def _receive(self, request: web.Request) -> web.Response:
        token = request.match_info.get("token") or header_token(request.headers)
        integration = (
            None if token is None else self.authenticate(request.match_info["source"], token)
        )
        if integration is None or integration.type in _SERVED_ELSEWHERE:
            return self.refuse(404, RejectReason.UNKNOWN_WEBHOOK, _UNKNOWN_WEBHOOK)
        try:
            limited = await self.over_limit(integration)
        except (RedisError, OSError) as error:
            return self.store_unavailable(error)
        if limited is not None:
            over = {
                "error": f"integration {integration.name} is over its rate limit; retry later",
                "limit": limited.limit.model_dump(),
                "retry_after_seconds": limited.retry_after,
            }
            return self.refuse_limited(limited, over)
        try:
            body = await self.read_json(request, integration)
            alerts = SOURCES[integration.type].parse(body, integration, self.clock())
        except Refused as answered:
            return answered.response
        except BadSignature as error:
            return self.refuse(401, RejectReason.BAD_SIGNATURE, {"error": str(error)})
        except MalformedJson as error:
            position = {} if error.line is None else {"line": error.line, "column": error.column}
            return self.refuse(400, RejectReason.MALFORMED_JSON, {"error": str(error), **position})
        except PayloadError as error:
            return self.refuse(422, RejectReason.INVALID_PAYLOAD, _invalid_payload(error.errors))
        refused = await self.publish(integration, alerts)
        return refused or web.json_response({"accepted": len(alerts)}, status=202)

    async def read_json(self, request: web.Request, signed_by: Integration | None = None) -> object:
        """The body's JSON value, read within the limits. ``Refused`` with the answer when
        it is too large, too slow or cut off; ``MalformedJson`` for the caller to answer in
        its format; ``BadSignature`` when ``signed_by`` signs its requests and this one's
        signature is wrong."""
        try:
            raw = await read_limited(request, self._max_body_bytes, self._body_deadline)
        except BodyTooLarge as error:
            too_large = {"error": str(error), "limit_bytes": error.limit}
            raise Refused(self.refuse(413, RejectReason.BODY_TOO_LARGE, too_large)) from None
        except BodyTimeout as error:
            too_slow = {"error": str(error), "limit_seconds": error.deadline.total_seconds()}
            raise Refused(self.refuse(408, RejectReason.BODY_TIMEOUT, too_slow)) from None
        except ClientDisconnected:
            # Nobody reads this answer; it is counted, and an access log shows it.
            gone = {"error": "the connection closed before the whole body arrived"}
            raise Refused(self.refuse(400, RejectReason.CLIENT_DISCONNECTED, gone)) from None
        if signed_by is not None:
            check_signature(signed_by, raw, request.headers, self.clock())
        return decode_json(raw)

    async def publish(
        self, integration: Integration, alerts: Sequence[Alert]
    ) -> web.Response | None:
        """Append the alerts to the stream: ``None`` once they are on it, else the 503 that
        says nothing was accepted."""
        if not alerts:
            return None
        try:
            await self._stream.append(alerts)
        except (RedisError, OSError) as error:
            return self.store_unavailable(error)
        except NotDurable as error:
            # Written, but not yet where TOCSIN_DURABILITY asks (no replica confirmed):
            # the repeat the sender sends is deduplicated, so asking for it costs nothing.
            log.warning("not durable in time, refused %d alert(s): %s", len(alerts), error)
            return self._retry_later(
                RejectReason.NOT_DURABLE,
                f"not stored durably in time: {error}; retry later (a repeat is deduplicated)",
            )
        self._received.labels(integration.name, integration.type).inc(len(alerts))
        # Debug: at thousands of webhooks a second a line each costs more than the webhook;
        # tocsin_alerts_received_total counts them, and a refusal is still logged.
        log.debug(
            "accepted %d alert(s) from %s",
            len(alerts),
            integration.name,
            extra={"event": "alerts_accepted", "integration": integration.name},
        )
        return None

    def store_unavailable(self, error: Exception) -> web.Response:
        log.warning("alert stream unavailable, refused a webhook: %s", error)
        return self._retry_later(
            RejectReason.STREAM_UNAVAILABLE,
            "the alert stream is unavailable; nothing was accepted, retry later",
        )

    async def over_limit(self, integration: Integration) -> Limited | None:
        """Take this request from the integration's rate limit; ``Limited`` when over it."""
        if integration.rate_limit is None or self._limiter is None:
            return None
        return await self._limiter.take(integration.name, integration.rate_limit, self.clock())

    def refuse_limited(self, limited: Limited, body: Mapping[str, object]) -> web.Response:
        retry = {"Retry-After": str(limited.retry_after)}
        return self.refuse(429, RejectReason.RATE_LIMITED, body, headers=retry)

    def authenticate(self, source: str, token: str) -> Integration | None:
        """The integration of type ``source`` with this token, if there is one."""
        # Compare against every token, whatever the source, so the time taken does not tell
        # which tokens or sources exist.
        presented = _secret(token)
        found = None
        for integration, expected in self._tokens:
            if hmac.compare_digest(expected, presented) and integration.type == source:
                found = integration
        return found

    def refuse(
        self,
        status: int,
        reason: RejectReason,
        body: Mapping[str, object],
        headers: Mapping[str, str] | None = None,
    ) -> web.Response:
        """Answer ``status`` with ``body``, counted under ``reason``."""
        self._rejected.labels(reason).inc()
        return web.json_response(body, status=status, headers=headers)

    def _retry_later(self, reason: RejectReason, message: str) -> web.Response:
        """503: nothing is counted as accepted; Alertmanager and most senders retry."""
        retry = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        return self.refuse(503, reason, {"error": message}, headers=retry)


def header_token(headers: Mapping[str, str]) -> str | None:
    """The token of ``Authorization: Bearer TOKEN`` (Grafana's contact point sends its
    credentials so) or ``Authorization: Token token=TOKEN`` (PagerDuty's spelling, quotes
    allowed); ``None`` for anything else."""
    scheme, _, credentials = headers.get("Authorization", "").strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer":
        return credentials or None
    if scheme.lower() == "token" and credentials.startswith("token="):
        return credentials.removeprefix("token=").strip('"') or None
    return None


def _secret(token: str) -> bytes:
    # compare_digest takes str only when ASCII; a URL may decode to any str, even surrogates.
    return token.encode("utf-8", "surrogatepass")


def _invalid_payload(errors: list[FieldError]) -> dict[str, object]:
    shown = errors[:MAX_REPORTED_ERRORS]
    body: dict[str, object] = {
        "error": "invalid payload",
        "errors": [{"field": e.field, "message": e.message} for e in shown],
    }
    if len(errors) > len(shown):
        body["errors_not_shown"] = len(errors) - len(shown)
    return body


def add_routes(app: web.Application, webhooks: Webhooks) -> None:
    app.router.add_post(WEBHOOK_PATH, webhooks.receive)
    app.router.add_post(HEADER_TOKEN_PATH, webhooks.receive)
    app.router.add_route("*", "/v1/webhooks/{tail:.*}", webhooks.unknown)
