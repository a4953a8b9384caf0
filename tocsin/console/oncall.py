"""``/oncall``: who is on call now in each schedule and until when, the shifts after, and each
escalation policy's levels with whom they would page now."""

from datetime import timedelta

import aiohttp_jinja2
from aiohttp import web

from notifier.channels.render import format_time
from notifier.directory import Directory
from schedules.oncall import shifts
from tocsin.console.auth import Gate
from tocsin.reloading import ConfigHolder

AHEAD = timedelta(days=14)
NEXT_SHIFTS = 5


class OnCallPage:
    def __init__(self, gate: Gate, config: ConfigHolder) -> None:
        self.gate = gate
        self.config = config

    @property
    def directory(self) -> Directory:
        """The configuration's as it is now: schedules are taken up as they are edited."""
        return self.config.current.directory

    def _name(self, person: str | None) -> str:
        if person is None:
            return "nobody (a gap)"
        found = self.directory.people.get(person)
        return found.name if found is not None else person

    async def show(self, request: web.Request) -> web.Response:
        viewer = self.gate.page_viewer(request)
        now = self.gate.clock()
        schedules = []
        for name, schedule in sorted(self.directory.schedules.items()):
            current, *after = shifts(schedule, now, now + AHEAD)
            schedules.append(
                {
                    "name": name,
                    "now": self._name(current.person),
                    "until": format_time(current.end) if after else "two weeks or more",
                    "next": [
                        {
                            "person": self._name(s.person),
                            "start": format_time(s.start),
                            "end": format_time(s.end),
                            "override": s.override,
                        }
                        for s in after[:NEXT_SHIFTS]
                    ],
                }
            )
        policies = [
            {
                "name": name,
                "repeat": policy.repeat,
                "levels": [
                    {
                        "targets": [str(t) for t in level.targets],
                        "now": [self._name(p) for p in self.directory.resolve(level, now)],
                        "ack_timeout": level.ack_timeout,
                    }
                    for level in policy.levels
                ],
            }
            for name, policy in sorted(self.directory.policies.items())
        ]
        context = {"viewer": viewer, "schedules": schedules, "policies": policies}
        return aiohttp_jinja2.render_template("oncall.html", request, context)
