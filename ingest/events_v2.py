"""PagerDuty's Events API v2, served by Tocsin: ``POST /v2/enqueue`` (alert events) and
``POST /v2/change/enqueue`` (change events), answered as PagerDuty answers, so a tool's
PagerDuty integration or PagerDuty's own clients work when pointed at Tocsin.

The ``routing_key`` in the body is the token of an integration of type ``pagerduty``.

- 202 ``{"status": "success", "message": "Event processed", "dedup_key": ...}``: the alert
  is on the stream (for a trigger without a key, the key it was given).
- 400 ``{"status": "invalid event", "message": "Event object is invalid", "errors": [...]}``:
  the body is not an event, or its routing key is not one of ours (PagerDuty answers an
  unknown key the same way, so the answer tells nothing about which keys exist).
- 429 with ``Retry-After``: the integration is over its ``rate_limit``. PagerDuty documents
  the status, not a body; this one has the shape of its other errors.
- 503 with ``Retry-After``, as the other webhooks: nothing was stored; PagerDuty's clients
  retry 5xx.
"""

import logging
from collections.abc import Sequence

from aiohttp import web
from redis.exceptions import RedisError

from ingest.body import MalformedJson
from ingest.changes import ChangeLog
from ingest.config import Integration
from ingest.ratelimit import Limited
from ingest.sources import PayloadError
from ingest.sources.base import FieldError
from ingest.sources.pagerduty import PagerDutySource, parse_change
from ingest.triggers import Triggers
from ingest.web import MAX_REPORTED_ERRORS, Refused, RejectReason, Webhooks

log = logging.getLogger(__name__)

ENQUEUE_PATH = "/v2/enqueue"
CHANGE_PATH = "/v2/change/enqueue"


class EventsV2:
    def __init__(
        self,
        webhooks: Webhooks,
        triggers: Triggers,
        changes: ChangeLog,
        source: PagerDutySource | None = None,
    ) -> None:
        self._webhooks = webhooks
        self._triggers = triggers
        self._changes = changes
        self._source = source or PagerDutySource()

    async def enqueue(self, request: web.Request) -> web.Response:
        try:
            integration, body = await self._admit(request)
            alerts = self._source.parse(body, integration, self._webhooks.clock())
        except Refused as answered:
            return answered.response
        except PayloadError as error:
            return self._invalid(RejectReason.INVALID_PAYLOAD, _described(error.errors))
        except Exception:
            return self._failed()
        (alert,) = alerts
        try:
            if alert.is_firing:
                await self._triggers.remember(alert)
            else:
                alert = await self._triggers.follow_up(alert)
        except (RedisError, OSError) as error:
            return self._webhooks.store_unavailable(error)
        refused = await self._webhooks.publish(integration, [alert])
        if refused is not None:
            return refused
        answer = {"status": "success", "message": "Event processed", "dedup_key": alert.dedup_key}
        return web.json_response(answer, status=202)

    async def enqueue_change(self, request: web.Request) -> web.Response:
        try:
            integration, body = await self._admit(request)
            change = parse_change(body, integration, self._webhooks.clock())
            await self._changes.record(change)
        except Refused as answered:
            return answered.response
        except PayloadError as error:
            return self._invalid(RejectReason.INVALID_PAYLOAD, _described(error.errors))
        except (RedisError, OSError) as error:
            return self._webhooks.store_unavailable(error)
        except Exception:
            return self._failed()
        log.info(
            "recorded a change from %s",
            integration.name,
            extra={"event": "change_recorded", "integration": integration.name},
        )
        answer = {"status": "success", "message": "Change event processed"}
        return web.json_response(answer, status=202)

    async def _admit(self, request: web.Request) -> tuple[Integration, object]:
        """The event's integration and body; ``Refused`` when the body cannot be read, its
        routing key is not ours, or the integration is over its rate limit."""
        webhooks = self._webhooks
        try:
            body = await webhooks.read_json(request)
        except MalformedJson as error:
            raise Refused(self._invalid(RejectReason.MALFORMED_JSON, [str(error)])) from None
        key = body.get("routing_key") if isinstance(body, dict) else None
        token = key if isinstance(key, str) else ""
        integration = webhooks.authenticate(PagerDutySource.name, token)
        if integration is None:
            raise Refused(self._invalid(RejectReason.UNKNOWN_WEBHOOK, ["Invalid routing key"]))
        try:
            limited = await webhooks.over_limit(integration)
        except (RedisError, OSError) as error:
            raise Refused(webhooks.store_unavailable(error)) from None
        if limited is not None:
            raise Refused(webhooks.refuse_limited(limited, _throttled(integration, limited)))
        return integration, body

    def _invalid(self, reason: RejectReason, errors: Sequence[str]) -> web.Response:
        body = {
            "status": "invalid event",
            "message": "Event object is invalid",
            "errors": list(errors[:MAX_REPORTED_ERRORS]),
        }
        return self._webhooks.refuse(400, reason, body)

    def _failed(self) -> web.Response:
        log.exception("PagerDuty event failed unexpectedly")
        body = {"status": "error", "message": "internal error; nothing was accepted, retry later"}
        return self._webhooks.refuse(500, RejectReason.INTERNAL_ERROR, body)


def _described(errors: Sequence[FieldError]) -> list[str]:
    return [f"{error.field}: {error.message}" for error in errors]


def _throttled(integration: Integration, limited: Limited) -> dict[str, object]:
    limit = limited.limit
    return {
        "status": "throttle event",
        "message": "Requests for this integration are arriving too quickly; retry later",
        "errors": [
            f"integration {integration.name} is limited to {limit.per_second:g} events a "
            f"second (bursts of {limit.burst}); retry after {limited.retry_after} s"
        ],
    }


def add_routes(app: web.Application, events: EventsV2) -> None:
    app.router.add_post(ENQUEUE_PATH, events.enqueue)
    app.router.add_post(CHANGE_PATH, events.enqueue_change)
