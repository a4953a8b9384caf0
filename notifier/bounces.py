"""Deliveries a provider took, then reported failed: a text the network could not deliver, a
call that was busy or not answered. Paging counted them as made when the provider took them;
once it says otherwise they are failures, on the timeline and for whether a person was
reached at all.

Reports come to the web process, which records them (``record``, once per delivery however
often the provider repeats itself) and leaves the rest to a worker job (``Bounces.check``):
whether the person is now someone no page of the step got to, and so whether the level
escalates at once, as it does when every way failed as it was sent.
"""

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ingest.clock import epoch_ms
from notifier import keys
from notifier.channels import DeliveryResult
from notifier.deliveries import Deliveries
from notifier.escalation import Step, is_current, step_of, timeline_event
from notifier.rule_steps import tries_field
from notifier.rules import later
from notifier.sending import bounced
from notifier.signing import StatusClaims
from router.models import TimelineKind
from router.store import IncidentStore

if TYPE_CHECKING:
    from notifier.paging import Pager, Scheduler

log = logging.getLogger(__name__)

_PAGE = "page:"


async def record(
    store: IncidentStore,
    scheduler: "Scheduler",
    delivery: StatusClaims,
    detail: str,
    now: datetime,
) -> None:
    """The provider says ``delivery`` failed (``detail``: how). Nothing for an incident that
    is gone or is not the one the delivery was for."""
    incident = await store.get(delivery.incident_id)
    if incident is None or epoch_ms(incident.created_at) != epoch_ms(delivery.created_at):
        return
    step = _step(delivery.tag)
    field = f"{delivery.tag}:{delivery.person}:{delivery.channel}"
    if await Deliveries(store.redis).claim(incident.id, bounced(field)):
        event = timeline_event(
            TimelineKind.PAGE_FAILED, now, delivery.person, delivery.channel, step, detail
        )
        await store.add_timeline(incident.id, [event])
        log.warning(
            "incident %s: %s by %s failed after it was sent: %s",
            incident.id,
            delivery.person,
            delivery.channel,
            detail,
            extra={"event": "page_failed", "incident": incident.id, "person": delivery.person},
        )
    if step is not None:
        # A page of an escalation step: whether its person was reached after all.
        await scheduler.schedule(
            "delivery_failed",
            step,
            incident.id,
            job_id=keys.bounce_job_id(incident.id, step, delivery.person, delivery.channel),
            delay=timedelta(0),
            person=delivery.person,
        )


def _step(tag: str) -> Step | None:
    """The escalation step of a page's delivery tag; ``None`` for a handover's."""
    if not tag.startswith(_PAGE):
        return None
    try:
        return step_of(tag.removeprefix(_PAGE))
    except ValueError:
        return None


class Bounces:
    def __init__(self, pager: "Pager") -> None:
        self.pager = pager

    async def check(self, incident_id: str, step: Step, person: str) -> None:
        """A page of ``step`` to ``person`` failed after it was sent: if nothing more is to
        come for them (their rules' last step ran), whether anything reached them."""
        pager = self.pager
        incident = await pager.store.get(incident_id)
        if not is_current(incident, step):
            return
        steps = pager.rule_steps.of(incident, [person]).get(person, ())
        done = await pager.deliveries.done(incident_id)
        if later(steps) and tries_field(step, person, len(steps) - 1) not in done:
            return  # the last rule step, when it runs, asks the same
        marker = bounced(f"{_PAGE}{step.key}:{person}:")
        failed = DeliveryResult.failed("failed after it was sent", retryable=False)
        results = [
            (person, field.removeprefix(marker), failed)
            for field in sorted(done)
            if field.startswith(marker)
        ]
        now = pager.clock()
        level = pager.directory.policies[incident.policy].levels[step.level]
        everyone = pager.directory.resolve(level, now, incident_id)
        await pager.unreachable(incident_id, step, [person], results, now, everyone)
