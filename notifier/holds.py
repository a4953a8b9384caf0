"""What holds an incident's pages: silences, maintenance windows and inhibition.

An incident is held while every one of its firing alerts is: its pages wait, and nobody is
woken for what someone already works on (a silence, a window) or what a wider problem
explains (inhibition).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from ingest.models import AlertStatus
from notifier.directory import Directory
from router.silence_store import SilenceStore
from router.silences import Silence, SilenceState, holding
from router.store import IncidentStore

HOLD_RECHECK = timedelta(minutes=1)
"""Longest wait before a held page looks at the silences again."""


@dataclass(frozen=True)
class Hold:
    """Why nobody is paged for an incident now, and until when at the latest."""

    key: str
    reason: str
    until: datetime


class Holds:
    def __init__(self, store: IncidentStore, directory: Directory) -> None:
        self.store = store
        self.silences = SilenceStore(store.redis)
        self.directory = directory

    async def held_by(self, incident_id: str, now: datetime) -> Hold | None:
        """What holds every firing alert of the incident, ending first; ``None`` when some
        firing alert is neither silenced nor inhibited. Firing alerts are read first, a
        page at a time, so one that is not held usually ends the look at once."""
        active = [s for s in await self.silences.all(now) if s.state(now) is SilenceState.ACTIVE]
        active += [
            silence
            for window in self.directory.maintenance
            if (silence := window.silence_at(now)) is not None
        ]
        rules = self.directory.inhibit_rules
        if not active and not rules:
            return None
        holds: list[Hold] = []
        cursor: int | None = 0
        while cursor is not None:
            records, cursor = await self.store.alerts(incident_id, limit=200, cursor=cursor)
            for record in records:
                if record.status is not AlertStatus.FIRING:
                    cursor = None
                    break
                hold = await self._hold_of(active, record.labels, now)
                if hold is None:
                    return None
                holds.append(hold)
        return min(holds, key=lambda hold: hold.until, default=None)

    async def _hold_of(
        self, silences: list[Silence], labels: Mapping[str, str], now: datetime
    ) -> Hold | None:
        silence = holding(silences, labels, now)
        if silence is not None:
            until = silence.ends_at.isoformat()
            return Hold(
                silence.id,
                f"silenced by {silence.id} until {until}: {silence.comment}",
                silence.ends_at,
            )
        group = await self.store.inhibiting(self.directory.inhibit_rules, labels)
        if group is not None:
            rule = group.partition(":")[0]
            # Inhibition lasts while its source fires: look again within the recheck time.
            return Hold(f"inhibit:{rule}", f"inhibited by rule {rule}", now + HOLD_RECHECK)
        return None
