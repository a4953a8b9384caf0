"""Sign-in by a link sent to the person (``console.magic_links``): ``POST /login/link`` asks
for one, ``GET /login/link/{token}`` shows a "Sign in" button, and only that button's
``POST`` signs in. Mail scanners and link previews open every link they see; a GET that
signed in would spend the link before its person got to it.

The answer to asking is the same whoever was named, known or not, and the link is sent
after it (so neither the words nor the time taken tell whether a person exists). A link is
signed for its person and purpose (``tocsin.console.sessions``), expires after
``magic_link_ttl``, and works once: the store keeps each link sent until it is used or
expires, and the first use takes it (GETDEL).
"""

import asyncio
import logging
from collections.abc import Mapping
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web
from redis.asyncio import Redis

from notifier.config import Person
from tocsin.console import keys
from tocsin.console.attempts import Attempts
from tocsin.console.auth import Gate
from tocsin.console.link_sender import LinkSender, SignInLink
from tocsin.console.login import MAX_PERSON, checked_form, local_path, login_page, signed_in
from tocsin.console.passwords import FAILURE_WINDOW
from tocsin.console.sessions import BadSession, Expired, Session, new_session, sign_link
from tocsin.console.sessions import verify_link as verify_token

log = logging.getLogger(__name__)

MAX_REQUESTS = 5
"""Links asked for per person and address within the window of failed passwords."""
TOO_MANY = "Too many sign-in links asked for: wait fifteen minutes and try again."
ON_ITS_WAY = (
    "If that person exists and can be reached, a sign-in link is on its way to them. It works once."
)
_PROBLEMS = {
    "invalid": ("This sign-in link is not valid: ask for a new one.", 400),
    "expired": ("This sign-in link has expired: ask for a new one.", 410),
    "used": ("This sign-in link has been used already: ask for a new one.", 410),
}


class MagicLinks:
    def __init__(self, gate: Gate, redis: Redis, sender: LinkSender, base_url: str) -> None:
        self.gate = gate
        self.redis = redis
        self.sender = sender
        self.base_url = base_url.rstrip("/")
        self.requests = Attempts(redis, keys.link_requests, MAX_REQUESTS, FAILURE_WINDOW)
        self._sending: set[asyncio.Task[None]] = set()

    async def ask(self, request: web.Request) -> web.Response:
        self._offered()
        nonce, form = await checked_form(request, self.gate)
        asked = form.get("person", "").strip()[:MAX_PERSON]
        target = local_path(form.get("next", "/"))
        person_id = person_named(self.gate.people, asked)
        address = request.remote or "unknown"
        counted = person_id or asked.casefold()
        if await self.requests.blocked(counted, address):
            return login_page(request, self.gate, nonce, target, ("bad", TOO_MANY), 429)
        await self.requests.count(counted, address)
        if person_id is not None:
            task = asyncio.create_task(self._send(person_id, target))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)
        return login_page(request, self.gate, nonce, target, ("good", ON_ITS_WAY))

    async def show(self, request: web.Request) -> web.Response:
        """The button, and nothing signed in or spent."""
        link = self._verified(request)
        if isinstance(link, web.Response):
            return link
        if not await self.redis.exists(keys.sign_in_link(link.nonce)):
            return self._problem(request, "used")
        context = {
            "viewer": None,
            "notice": None,
            "action": request.path,
            "name": self.gate.people[link.person].name,
            "person": link.person,
            "next": request.query.get("next", "/"),
        }
        return aiohttp_jinja2.render_template("magic_link.html", request, context)

    async def use(self, request: web.Request) -> web.Response:
        link = self._verified(request)
        if isinstance(link, web.Response):
            return link
        taken = await self.redis.getdel(keys.sign_in_link(link.nonce))
        if taken is None or taken.decode() != link.person:
            return self._problem(request, "used")
        target = (await request.post()).get("next")
        raise signed_in(request, self.gate, link.person, str(target or "/"), "magic link")

    async def close(self, app: web.Application) -> None:
        """Let links being sent go out (each send has its timeout), then let go of the
        channels' connections."""
        await asyncio.gather(*self._sending, return_exceptions=True)
        await self.sender.aclose()

    def _offered(self) -> None:
        if not self.gate.config.magic_links:
            raise web.HTTPNotFound(text="sign-in links are off: console.magic_links")

    def _verified(self, request: web.Request) -> Session | web.Response:
        self._offered()
        try:
            link = verify_token(self.gate.secret, request.match_info["token"], self.gate.clock())
        except Expired:
            return self._problem(request, "expired")
        except BadSession:
            return self._problem(request, "invalid")
        if link.person not in self.gate.people:
            return self._problem(request, "invalid")  # removed from the configuration since
        return link

    def _problem(self, request: web.Request, problem: str) -> web.Response:
        message, status = _PROBLEMS[problem]
        context = {"viewer": None, "notice": ("bad", message), "person": None}
        return aiohttp_jinja2.render_template("magic_link.html", request, context, status=status)

    async def _send(self, person_id: str, target: str) -> None:
        person = self.gate.people[person_id]
        if not self.sender.reaches(person):
            log.info(
                "no sign-in link for %s: no contact method of their own",
                person_id,
                extra={"event": "sign_in_link_unreachable", "person": person_id},
            )
            return
        ttl = self.gate.config.magic_link_ttl
        link = new_session(person_id, self.gate.clock(), ttl)
        try:
            await self.redis.set(keys.sign_in_link(link.nonce), person_id, ex=ttl)
            result = await self.sender.send(
                SignInLink(person_id, person, self._url(link, target), link.expires_at)
            )
        except Exception:  # a task of its own: nobody else would hear of it
            log.exception("sign-in link for %s not sent", person_id)
            return
        # The person and the outcome, never the link: whoever reads the log could use it.
        log.info(
            "sign-in link for %s: %s",
            person_id,
            result.detail,
            extra={"event": "sign_in_link_sent" if result.ok else "sign_in_link_failed"},
        )

    def _url(self, link: Session, target: str) -> str:
        url = f"{self.base_url}/login/link/{sign_link(self.gate.secret, link)}"
        return url if target == "/" else f"{url}?{urlencode({'next': target})}"


def person_named(people: Mapping[str, Person], asked: str) -> str | None:
    """The person ``asked`` names by id or by email address (in any case); ``None`` for
    nobody, and for an address two people share."""
    if asked in people:
        return asked
    wanted = asked.casefold()
    found = [
        pid for pid, p in people.items() if p.email is not None and p.email.casefold() == wanted
    ]
    return found[0] if len(found) == 1 else None
