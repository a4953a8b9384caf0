"""``/silences``: the silences, a form to add one (prefilled from an incident's group labels
by ``?matcher=label=value&comment=...``), and expiring one. Stored by ``router``'s
``SilenceStore``, as the Alertmanager-shaped API does."""

from datetime import timedelta

import aiohttp_jinja2
from aiohttp import web
from pydantic import ValidationError

from notifier.channels.render import format_time
from router.matchers import MatcherError, parse_matcher
from router.silence_store import SilenceNotFound, SilenceStore
from router.silences import Silence, SilenceMatcher
from schedules.durations import parse_duration
from tocsin.console.auth import Gate, Viewer

DEFAULT_DURATION = "2h"


class SilencePages:
    def __init__(self, gate: Gate, store: SilenceStore) -> None:
        self.gate = gate
        self.store = store

    async def listing(self, request: web.Request) -> web.Response:
        viewer = self.gate.page_viewer(request)
        form = {
            "matchers": "\n".join(request.query.getall("matcher", [])),
            "duration": DEFAULT_DURATION,
            "comment": request.query.get("comment", ""),
        }
        return await self._page(request, viewer, form, None)

    async def create(self, request: web.Request) -> web.Response:
        viewer, posted = await self.gate.acting_viewer(request)
        form = {key: posted.get(key, "") for key in ("matchers", "duration", "comment")}
        now = self.gate.clock()
        try:
            matchers = [
                SilenceMatcher.of(parse_matcher(line.strip()))
                for line in form["matchers"].splitlines()
                if line.strip()
            ]
            if not matchers:
                raise ValueError("a silence needs at least one matcher, one per line")
            duration = parse_duration(form["duration"])
            if duration <= timedelta(0):
                raise ValueError("the duration must be longer than zero")
            silence = Silence(
                matchers=matchers,
                starts_at=now,
                ends_at=now + duration,
                created_by=viewer.person,
                comment=form["comment"],
            )
        except (ValueError, MatcherError) as error:
            problem = _say(error)
            return await self._page(request, viewer, form, ("bad", problem), 400)
        await self.store.save(silence, now)
        raise web.HTTPSeeOther("/silences?done=created")

    async def expire(self, request: web.Request) -> web.Response:
        await self.gate.acting_viewer(request)
        try:
            await self.store.expire(request.match_info["id"], self.gate.clock())
        except SilenceNotFound:
            raise web.HTTPNotFound(text="no such silence") from None
        raise web.HTTPSeeOther("/silences?done=expired")

    async def _page(
        self,
        request: web.Request,
        viewer: Viewer,
        form: dict[str, str],
        notice: tuple[str, str] | None,
        status: int = 200,
    ) -> web.Response:
        now = self.gate.clock()
        done = {"created": "Silence created.", "expired": "Silence expired."}
        if notice is None and request.query.get("done") in done:
            notice = ("good", done[request.query["done"]])
        silences = [
            {
                "silence": s,
                "state": s.state(now).value,
                "matchers": ", ".join(str(m.matcher()) for m in s.matchers),
                "starts": format_time(s.starts_at),
                "ends": format_time(s.ends_at),
            }
            for s in await self.store.all(now)
        ]
        context = {"viewer": viewer, "silences": silences, "form": form, "notice": notice}
        return aiohttp_jinja2.render_template("silences.html", request, context, status=status)


def _say(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in error.errors())
    return str(error)
