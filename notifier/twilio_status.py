"""``/twilio/status/{token}``: where Twilio reports what became of a page's text or call
(the ``StatusCallback`` each page asks for, ``notifier.channels.twilio``).

Twilio took the text or the call when its API answered 201, and paging counted the page as
made. Twilio posts ``MessageStatus`` (queued, sent, delivered, undelivered, failed) or, once a
call is over, ``CallStatus`` (completed, busy, no-answer, failed, canceled); ``ErrorCode`` says
why a text failed. The endings that mean the person was not reached make the delivery a
failure after all (``notifier.bounces``); the others change nothing.

As for the key pressed on a call: only a request with Twilio's signature counts, and the
token in the path, signed by us, names the delivery, so a genuine report still cannot touch
another one. Twilio repeats a report it got no answer to: each counts once.
"""

from collections.abc import Mapping

from aiohttp import web

from ingest.clock import Clock
from notifier.bounces import record
from notifier.paging import Scheduler
from notifier.signing import InvalidLink, verify_status
from notifier.twiml import STATUS_ROUTE
from notifier.voice_web import twilio_form
from router.store import IncidentStore

NOT_REACHED = frozenset({"undelivered", "failed", "busy", "no-answer"})
"""Endings of a text or call that did not reach the person (``canceled`` is a call we
would have ended ourselves, which Tocsin never does)."""


class StatusCallbacks:
    def __init__(
        self,
        store: IncidentStore,
        scheduler: Scheduler,
        secret: bytes,
        clock: Clock,
        auth_token: str,
        public_url: str,
    ) -> None:
        self.store = store
        self.scheduler = scheduler
        self.secret = secret
        self.clock = clock
        self.auth_token = auth_token
        self.public_url = public_url.rstrip("/")

    async def status(self, request: web.Request) -> web.Response:
        form = await twilio_form(request, self.auth_token, self.public_url)
        try:
            delivery = verify_status(self.secret, request.match_info["token"])
        except InvalidLink:
            raise web.HTTPForbidden(text="invalid token") from None
        status = form.get("MessageStatus") or form.get("CallStatus") or ""
        if status in NOT_REACHED:
            await record(self.store, self.scheduler, delivery, _detail(form, status), self.clock())
        return web.Response(status=204)


def _detail(form: Mapping[str, str], status: str) -> str:
    """What the timeline says: Twilio's status and error code (its own text, as a number
    means more in Twilio's error list than any prose of ours)."""
    code = form.get("ErrorCode", "")[:20]
    return f"Twilio: {status}" + (f" (error {code})" if code else "")


def add_routes(app: web.Application, callbacks: StatusCallbacks) -> None:
    app.router.add_post(STATUS_ROUTE, callbacks.status)
