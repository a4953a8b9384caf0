"""``/login`` and ``/logout``: a password checked against its argon2 hash, then a signed,
HttpOnly, SameSite=Lax session cookie. The sign-in forms carry a CSRF token too (bound to a
cookie of their own), so another site cannot sign someone in as the attacker."""

import hmac
import logging
import secrets
from typing import Literal

import aiohttp_jinja2
from aiohttp import web

from tocsin.console.auth import SESSION_COOKIE, Gate
from tocsin.console.passwords import Passwords
from tocsin.console.sessions import csrf_token, new_session, sign

log = logging.getLogger(__name__)

LOGIN_COOKIE = "tocsin_login"
MAX_PERSON = 200
"""Longer names are no person's: cut, so a failure counter's key stays small."""
TOO_MANY = "Too many failed sign-ins: wait fifteen minutes and try again."

How = Literal["password", "magic link"]


class Login:
    def __init__(self, gate: Gate, passwords: Passwords) -> None:
        self.gate = gate
        self.passwords = passwords

    async def show(self, request: web.Request) -> web.Response:
        nonce = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(16)
        response = login_page(request, self.gate, nonce, request.query.get("next", "/"))
        response.set_cookie(LOGIN_COOKIE, nonce, httponly=True, samesite="Lax", path="/login")
        return response

    async def submit(self, request: web.Request) -> web.Response:
        nonce, form = await checked_form(request, self.gate)
        person = form.get("person", "").strip()[:MAX_PERSON]
        target = form.get("next", "/")
        address = request.remote or "unknown"
        failures = self.passwords.failures
        if await failures.blocked(person, address):
            return login_page(request, self.gate, nonce, target, ("bad", TOO_MANY), 429)
        if person not in self.gate.people or not await self.passwords.check(
            person, form.get("password", "")
        ):
            await failures.count(person, address)
            log.info("console sign-in refused for %r", person, extra={"event": "login_failed"})
            wrong = ("bad", "Wrong name or password.")
            return login_page(request, self.gate, nonce, target, wrong, 401)
        raise signed_in(request, self.gate, person, target, "password")

    async def logout(self, request: web.Request) -> web.Response:
        await self.gate.acting_viewer(request)
        response = web.HTTPSeeOther("/login")
        response.del_cookie(SESSION_COOKIE, path="/")
        raise response


async def checked_form(request: web.Request, gate: Gate) -> tuple[str, dict[str, str]]:
    """The sign-in page's nonce and a form posted from it, once its CSRF token is checked."""
    form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    expected = csrf_token(gate.secret, f"login:{nonce}")
    if not nonce or not hmac.compare_digest(form.get("csrf", "").encode(), expected.encode()):
        raise web.HTTPForbidden(text="this form has expired: reload the page and retry")
    return nonce, form


def login_page(
    request: web.Request,
    gate: Gate,
    nonce: str,
    target: str,
    notice: tuple[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    context = {
        "csrf": csrf_token(gate.secret, f"login:{nonce}"),
        "next": local_path(target),
        "magic_links": gate.config.magic_links,
        "notice": notice,
        "viewer": None,
    }
    return aiohttp_jinja2.render_template("login.html", request, context, status=status)


def signed_in(
    request: web.Request, gate: Gate, person: str, target: str, how: How
) -> web.HTTPSeeOther:
    """The redirect to ``target`` that carries a new session for ``person``."""
    lifetime = gate.config.session_lifetime
    session = new_session(person, gate.clock(), lifetime)
    response = web.HTTPSeeOther(local_path(target))
    response.set_cookie(
        SESSION_COOKIE,
        sign(gate.secret, session),
        max_age=int(lifetime.total_seconds()),
        httponly=True,
        samesite="Lax",
        secure=request.secure,
        path="/",
    )
    response.del_cookie(LOGIN_COOKIE, path="/login")
    log.info(
        "console sign-in of %s by %s",
        person,
        how,
        extra={"event": "login", "person": person, "method": how},
    )
    return response


def local_path(target: str) -> str:
    """Only a path of this site: ``next`` must not send someone signing in elsewhere."""
    if target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"
