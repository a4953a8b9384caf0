"""Notification rules beyond the page itself: handing an incident to someone pages them by
their rules, and notices go only by the channels their rules use at once. Real Valkey, a
real SMTP server, timers run as the test moves the clock (the rig of ``test_rules``)."""

from datetime import timedelta

from router.models import TimelineKind
from tests.integration.test_rules import ACK_TIMEOUT, HOUR, Rig, rig, smtp

__all__ = ["rig", "smtp"]  # the fixtures of test_rules


async def handed_to_alice(rig: Rig) -> str:
    """An incident nobody acknowledged, at level 2 (bob), that bob hands to alice."""
    incident_id = await rig.open()
    await rig.at(ACK_TIMEOUT)
    await rig.store.reassign(incident_id, "alice", "bob", rig.clock())
    await rig.pager.followups.reassigned(incident_id, 0)
    return incident_id


async def test_a_handover_pages_by_the_rules_now_and_later(rig: Rig) -> None:
    incident_id = await handed_to_alice(rig)
    handed = rig.clock()

    # Alice's rules: Slack and mail at once, SMS after 3 minutes; not every method at once.
    assert [n.person for n in rig.slack.to("alice", "assigned")] == ["alice"]
    assert rig.mails().count("alice@example.com") == 2  # her page, then the handover
    assert rig.sms.to("alice", "assigned") == []

    await rig.at(timedelta(minutes=2, seconds=59))
    assert rig.sms.to("alice", "assigned") == []
    await rig.at(timedelta(seconds=1))

    (sms,) = rig.sms.to("alice", "assigned")
    assert sms.by == "Bob"
    assert sms.ack_url is not None
    paged = await rig.timeline(incident_id, TimelineKind.PAGED)
    handover = [(e.channel, e.at - handed) for e in paged if e.detail == "handed over by Bob"]
    assert handover == [
        ("email", timedelta(0)),
        ("slack", timedelta(0)),
        ("sms", timedelta(minutes=3)),
    ]
    # Once per rule step, however often its job runs.
    await rig.pager.followups.assigned_rule(incident_id, 0, "alice", 1)
    assert len(rig.sms.to("alice", "assigned")) == 1


async def test_acknowledging_stops_the_later_steps_of_a_handover(rig: Rig) -> None:
    incident_id = await handed_to_alice(rig)
    await rig.at(timedelta(minutes=2))

    await rig.store.acknowledge(incident_id, "alice", rig.clock())
    await rig.at(timedelta(minutes=5))

    assert rig.sms.to("alice", "assigned") == []


async def test_handing_it_on_stops_the_steps_of_the_handover_before(rig: Rig) -> None:
    incident_id = await handed_to_alice(rig)
    await rig.at(timedelta(minutes=1))

    await rig.store.reassign(incident_id, "bob", "alice", rig.clock())
    await rig.pager.followups.reassigned(incident_id, 0)
    await rig.at(timedelta(minutes=5))

    assert rig.sms.to("alice", "assigned") == []
    assert [n.person for n in rig.slack.to("bob", "assigned")] == ["bob"]  # every method


async def test_notices_go_by_the_channels_the_rules_use_at_once(rig: Rig) -> None:
    incident_id = await rig.open()
    await rig.at(timedelta(minutes=4))
    assert [n.person for n in rig.sms.delivered] == ["alice"]  # her 3-minute step

    await rig.store.resolve(incident_id, "carol", rig.clock(), retention=HOUR)
    await rig.pager.resolved(incident_id)

    # Slack and mail, as her page at 0m; no SMS saying it is over.
    assert [n.person for n in rig.slack.to("alice", "resolved")] == ["alice"]
    assert rig.mails().count("alice@example.com") == 2
    assert rig.sms.to("alice", "resolved") == []
    notices = await rig.timeline(incident_id, TimelineKind.RESOLVED_NOTICE)
    assert sorted((e.person, e.channel) for e in notices) == [
        ("alice", "email"),
        ("alice", "slack"),
    ]


async def test_a_notice_follows_the_rules_of_the_incidents_urgency(rig: Rig) -> None:
    incident_id = await rig.open(severity="warning")  # low: mail only
    await rig.at(ACK_TIMEOUT)  # bob, without rules, paged at level 2

    await rig.store.resolve(incident_id, "carol", rig.clock(), retention=HOUR)
    await rig.pager.resolved(incident_id)

    notices = await rig.timeline(incident_id, TimelineKind.RESOLVED_NOTICE)
    assert sorted((e.person, e.channel) for e in notices) == [
        ("alice", "email"),
        ("bob", "slack"),
    ]
    assert rig.slack.to("alice", "resolved") == []
