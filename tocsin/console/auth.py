"""Who is using the console: the person a trusted reverse proxy names, else the person of a
valid session cookie; and the CSRF check every form's POST passes before it acts.

A page asked for without either redirects to ``/login``; a POST without its form's CSRF
token is refused (403) before anything is read or changed."""

import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import web
from yarl import URL

from ingest.clock import Clock
from notifier.config import Person
from tocsin.console.config import ConsoleConfig
from tocsin.console.sessions import BadSession, csrf_token, verify

SESSION_COOKIE = "tocsin_session"


@dataclass(frozen=True)
class Viewer:
    person: str
    csrf: str
    signed_in: bool
    """Signed in here, by a password or a sign-in link (can sign out), rather than named by
    the proxy."""


class Gate:
    def __init__(
        self, config: ConsoleConfig, people: Mapping[str, Person], secret: bytes, clock: Clock
    ) -> None:
        self.config = config
        self.people = people
        self.secret = secret
        self.clock = clock

    def viewer(self, request: web.Request) -> Viewer | None:
        header = self.config.trusted_proxy_header
        if header is not None and self.config.trusts(request.remote):
            named = request.headers.get(header)
            if named:
                if named not in self.people:
                    raise web.HTTPForbidden(
                        text=f"{named!r} is not a person in Tocsin's configuration"
                    )
                return Viewer(named, csrf_token(self.secret, f"proxy:{named}"), False)
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie is None:
            return None
        try:
            session = verify(self.secret, cookie, self.clock())
        except (BadSession, ValueError, UnicodeDecodeError):
            return None
        if session.person not in self.people:
            return None  # removed from the configuration since
        return Viewer(session.person, session.csrf(self.secret), True)

    def page_viewer(self, request: web.Request) -> Viewer:
        """The viewer, or a redirect to sign in that comes back here."""
        viewer = self.viewer(request)
        if viewer is None:
            raise web.HTTPSeeOther(URL("/login").with_query(next=request.path_qs))
        return viewer

    async def acting_viewer(self, request: web.Request) -> tuple[Viewer, dict[str, str]]:
        """The viewer of a form's POST and the form, once its CSRF token is checked."""
        viewer = self.page_viewer(request)
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        if not hmac.compare_digest(form.get("csrf", "").encode(), viewer.csrf.encode()):
            raise web.HTTPForbidden(
                text="this form has expired or came from elsewhere: reload the page and retry"
            )
        return viewer, form
