"""``/ack/{token}``: the incident page behind a signed link.

GET only shows the incident and its buttons: mail and chat link scanners fetch every link
they see, so reading the page must never act. Each button POSTs back to the same URL with
its ``action`` (acknowledge when none, as the first pages' single button sent), which acts
and redirects to the GET (so a reload does not resubmit the form); an action that changes
nothing (done already, or the incident moved on) answers with the page saying so. The token
is the whole credential: whoever holds a genuine link may act as its person, as long as its
incident is open and for ``grace`` after it resolved.
"""

import logging
from datetime import datetime, timedelta

from aiohttp import web

from ingest.clock import Clock
from notifier import ack_html
from notifier.page_actions import Answer, BadRequest, PageActions, parse_action
from notifier.signing import Action, ExpiredLink, InvalidLink, LinkClaims, verify_link
from router.models import Incident, IncidentStatus
from router.store import IncidentNotFound

log = logging.getLogger(__name__)

PAGE_ALERTS = 50
"""Alerts listed on the page; the rest are counted."""

ACK_ROUTE = "/ack/{token}"

_LOGGED = {
    Action.ACKNOWLEDGE: "acknowledged",
    Action.RESOLVE: "resolved",
    Action.ESCALATE: "escalated_by_hand",
    Action.SNOOZE: "snoozed",
    Action.REASSIGN: "reassigned",
}
"""The log event of each action done."""

_HEADERS = {
    # The token in the URL is a credential: keep it out of caches, indexes and Referer
    # headers, and keep the button out of other sites' frames (clickjacking).
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}


class AckPages:
    def __init__(
        self, actions: PageActions, secret: bytes, clock: Clock, *, grace: timedelta
    ) -> None:
        self.actions = actions
        self.store = actions.store
        self.secret = secret
        self.clock = clock
        self.grace = grace

    async def show(self, request: web.Request) -> web.Response:
        now = self.clock()
        claims, incident = await self._open(request, now)
        done = ack_html.DONE.get(request.query.get("done", ""))
        notice = None if done is None else ("good", done)
        return _html(200, await self._incident_page(incident, claims, now, notice))

    async def act(self, request: web.Request) -> web.Response:
        now = self.clock()
        claims, incident = await self._open(request, now)
        form = {
            key: value for key, value in (await request.post()).items() if isinstance(value, str)
        }
        try:
            action = parse_action(form.get("action"))
            if action not in claims.actions:
                raise _error(web.HTTPForbidden, ack_html.not_allowed_page(action.value))
            answer = await self.actions.act(incident, action, claims.person, form, now)
        except BadRequest as problem:
            raise _error(web.HTTPBadRequest, ack_html.bad_request_page(str(problem))) from None
        except IncidentNotFound:
            raise _not_found(claims) from None
        if answer.changed:
            event = _LOGGED[action]
            log.info(
                "incident %s %s by %s",
                incident.id,
                event.replace("_", " "),
                claims.person,
                extra={"event": event, "incident": incident.id, "person": claims.person},
            )
        if not _from_a_browser(request):
            # curl and scripts: the result itself, not a redirect (``curl -L -XPOST`` would
            # follow it with POST again, round and round).
            return web.json_response(
                _result(action, answer), status=answer.status, headers=_HEADERS
            )
        if not answer.changed:
            notice = ("good" if answer.status == 200 else "bad", answer.message)
            page = await self._incident_page(answer.incident, claims, now, notice)
            return _html(answer.status, page)
        # Relative to /ack/{token}, the token alone names the same URL, also behind a proxy
        # that serves Tocsin under a path prefix.
        location = f"{request.match_info['token']}?done={action.value}"
        raise web.HTTPSeeOther(location=location, headers=_HEADERS)

    async def _open(self, request: web.Request, now: datetime) -> tuple[LinkClaims, Incident]:
        """The link's claims and its incident, or the answer that the link does not work."""
        try:
            claims = verify_link(self.secret, request.match_info["token"], now)
        except ExpiredLink as exc:
            raise _error(web.HTTPForbidden, ack_html.expired_link_page(exc.expired_at)) from None
        except InvalidLink:
            raise _error(web.HTTPForbidden, ack_html.invalid_link_page()) from None
        incident = await self.store.get(claims.incident_id)
        if incident is None:
            raise _not_found(claims)
        if not claims.is_for(incident.created_at):
            page = ack_html.another_incident_page(incident.id)
            raise _error(web.HTTPForbidden, page)
        if incident.status is IncidentStatus.RESOLVED and incident.resolved_at is not None:
            expired_at = incident.resolved_at + self.grace
            if now >= expired_at:
                raise _error(web.HTTPForbidden, ack_html.expired_link_page(expired_at))
        return claims, incident

    async def _incident_page(
        self,
        incident: Incident,
        claims: LinkClaims,
        now: datetime,
        notice: tuple[str, str] | None,
    ) -> str:
        records, _ = await self.store.alerts(incident.id, limit=PAGE_ALERTS)
        offer = await self.actions.offer(incident, claims.actions, claims.person, now)
        return ack_html.incident_page(
            incident, records, claims.person, self.actions.name_of, offer, notice
        )


def add_routes(app: web.Application, pages: AckPages) -> None:
    app.router.add_get(ACK_ROUTE, pages.show)
    app.router.add_post(ACK_ROUTE, pages.act)


def _from_a_browser(request: web.Request) -> bool:
    """Browsers ask for HTML when they submit a form; curl asks for ``*/*``."""
    return "text/html" in request.headers.get("Accept", "")


def _result(action: Action, answer: Answer) -> dict[str, object]:
    incident = answer.incident
    return {
        "incident": incident.id,
        "action": action.value,
        "changed": answer.changed,
        "message": answer.message,
        "status": incident.status.value,
        "acknowledged_by": incident.acknowledged_by,
        "acknowledged_at": incident.acknowledged_at.isoformat()
        if incident.acknowledged_at
        else None,
    }


def _html(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text, content_type="text/html", headers=_HEADERS)


def _error(kind: type[web.HTTPException], text: str) -> web.HTTPException:
    return kind(text=text, content_type="text/html", headers=_HEADERS)


def _not_found(claims: LinkClaims) -> web.HTTPException:
    return _error(web.HTTPNotFound, ack_html.not_found_page(claims.incident_id))
