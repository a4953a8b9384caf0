"""``/oncall``: who is on call now in each schedule and until when, the shifts after, and each
escalation policy's levels with whom they would page now; the same answer as
``GET /api/v1/oncall``, stored overrides included. Names link to each person's page."""

import aiohttp_jinja2
from aiohttp import web

from notifier.channels.render import format_time
from schedules.durations import format_duration
from tocsin.console.auth import Gate
from tocsin.console.people import person_url
from tocsin.oncall_api import OnCallApi


class OnCallPage:
    def __init__(self, gate: Gate, oncall: OnCallApi) -> None:
        self.gate = gate
        self.oncall = oncall

    async def show(self, request: web.Request) -> web.Response:
        viewer = self.gate.page_viewer(request)
        now = await self.oncall.now()
        context = {
            "viewer": viewer,
            "schedules": now.schedules,
            "policies": now.policies,
            "time": format_time,
            "duration": format_duration,
            "person_url": person_url,
        }
        return aiohttp_jinja2.render_template("oncall.html", request, context)
