"""What the last trigger of each PagerDuty alert said, so that its ``acknowledge`` and
``resolve``, which carry only the dedup key, reach the alert where its trigger went.

The router places an alert by its labels: a resolve without them would land on other
routes, or in another group, and find nothing to resolve. The web endpoint fills them in
from here before the event goes on the stream, so the router sees an ordinary resolved
alert (and an acknowledgement placed like its alert). Kept per integration, as PagerDuty
applies follow-up events only to alerts of the same routing key.
"""

from datetime import timedelta

from pydantic import BaseModel, ConfigDict
from redis.asyncio import Redis

from ingest.keys import trigger
from ingest.models import Alert

REMEMBERED_FOR = timedelta(days=90)
"""From the last trigger: a follow-up later than this reaches only routes that need no
labels. PagerDuty keeps its own event history for 90 days."""


class _Said(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    summary: str
    labels: dict[str, str]


class Triggers:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def remember(self, alert: Alert) -> None:
        said = _Said(summary=alert.summary, labels=alert.labels)
        await self.redis.set(
            trigger(alert.integration, alert.dedup_key), said.model_dump_json(), ex=REMEMBERED_FOR
        )

    async def follow_up(self, alert: Alert) -> Alert:
        """The acknowledge or resolve ``alert`` with its trigger's labels and summary, when
        they are known."""
        raw = await self.redis.get(trigger(alert.integration, alert.dedup_key))
        if raw is None:
            return alert
        said = _Said.model_validate_json(raw)
        return alert.model_copy(update={"summary": said.summary, "labels": said.labels})
