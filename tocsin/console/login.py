"""``/login`` and ``/logout``: a password checked against its argon2 hash, then a signed,
HttpOnly, SameSite=Lax session cookie. The sign-in form carries a CSRF token too (bound to a
cookie of its own), so another site cannot sign someone in as the attacker."""

import hmac
import logging
import secrets

import aiohttp_jinja2
from aiohttp import web

from tocsin.console.auth import SESSION_COOKIE, Gate
from tocsin.console.passwords import Passwords
from tocsin.console.sessions import csrf_token, new_session, sign

log = logging.getLogger(__name__)

LOGIN_COOKIE = "tocsin_login"
MAX_PERSON = 200
"""Longer names are no person's: cut, so a failure counter's key stays small."""


class Login:
    def __init__(self, gate: Gate, passwords: Passwords) -> None:
        self.gate = gate
        self.passwords = passwords

    async def show(self, request: web.Request) -> web.Response:
        nonce = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(16)
        response = self._form(request, nonce, request.query.get("next", "/"), None, 200)
        response.set_cookie(LOGIN_COOKIE, nonce, httponly=True, samesite="Lax", path="/login")
        return response

    async def submit(self, request: web.Request) -> web.Response:
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        nonce = request.cookies.get(LOGIN_COOKIE, "")
        expected = csrf_token(self.gate.secret, f"login:{nonce}")
        if not nonce or not hmac.compare_digest(form.get("csrf", ""), expected):
            raise web.HTTPForbidden(text="this form has expired: reload the page and retry")
        person = form.get("person", "").strip()[:MAX_PERSON]
        target = _local(form.get("next", "/"))
        address = request.remote or "unknown"
        if await self.passwords.blocked(person, address):
            message = "Too many failed sign-ins: wait fifteen minutes and try again."
            return self._form(request, nonce, target, message, 429)
        if person not in self.gate.people or not await self.passwords.check(
            person, form.get("password", "")
        ):
            await self.passwords.failed(person, address)
            log.info("console sign-in refused for %r", person, extra={"event": "login_failed"})
            return self._form(request, nonce, target, "Wrong name or password.", 401)
        lifetime = self.gate.config.session_lifetime
        session = new_session(person, self.gate.clock(), lifetime)
        response = web.HTTPSeeOther(target)
        response.set_cookie(
            SESSION_COOKIE,
            sign(self.gate.secret, session),
            max_age=int(lifetime.total_seconds()),
            httponly=True,
            samesite="Lax",
            secure=request.secure,
            path="/",
        )
        response.del_cookie(LOGIN_COOKIE, path="/login")
        raise response

    async def logout(self, request: web.Request) -> web.Response:
        await self.gate.acting_viewer(request)
        response = web.HTTPSeeOther("/login")
        response.del_cookie(SESSION_COOKIE, path="/")
        raise response

    def _form(
        self, request: web.Request, nonce: str, target: str, problem: str | None, status: int
    ) -> web.Response:
        context = {
            "csrf": csrf_token(self.gate.secret, f"login:{nonce}"),
            "next": _local(target),
            "problem": problem,
            "viewer": None,
        }
        return aiohttp_jinja2.render_template("login.html", request, context, status=status)


def _local(target: str) -> str:
    """Only a path of this site: ``next`` must not send someone signing in elsewhere."""
    if target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"
