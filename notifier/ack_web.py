"""``/ack/{token}``: the page behind a signed acknowledge link.

GET only shows the incident: mail and chat link scanners fetch every link they see, so
reading the page must never acknowledge. The button POSTs back to the same URL, which
acknowledges and redirects to the GET (so a reload does not resubmit the form). The token is
the whole credential: whoever holds a genuine, unexpired link may acknowledge as its person.
"""

import logging
from collections.abc import Mapping
from datetime import datetime

from aiohttp import web

from ingest.clock import Clock
from notifier import ack_html
from notifier.config import Person
from notifier.signing import AckClaims, ExpiredLink, InvalidLink, verify_ack
from router.models import Incident
from router.store import IllegalTransition, IncidentNotFound, IncidentStore

log = logging.getLogger(__name__)

PAGE_ALERTS = 50
"""Alerts listed on the page; the rest are counted."""

ACK_ROUTE = "/ack/{token}"

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
        self,
        store: IncidentStore,
        secret: bytes,
        clock: Clock,
        people: Mapping[str, Person],
    ) -> None:
        self.store = store
        self.secret = secret
        self.clock = clock
        self.people = people

    async def show(self, request: web.Request) -> web.Response:
        claims = self._verify(request, self.clock())
        incident = await self._load(claims)
        return _html(200, await self._incident_page(incident, claims))

    async def acknowledge(self, request: web.Request) -> web.Response:
        now = self.clock()
        claims = self._verify(request, now)
        try:
            incident = await self.store.acknowledge(claims.incident_id, claims.person, now)
        except IncidentNotFound:
            raise _not_found(claims) from None
        except IllegalTransition:
            # Resolved before the click: the incident page says so, without a button.
            incident = await self._load(claims)
            return _html(409, await self._incident_page(incident, claims))
        if incident.acknowledged_at == now:
            log.info(
                "incident %s acknowledged by %s",
                incident.id,
                claims.person,
                extra={"event": "acknowledged", "incident": incident.id, "person": claims.person},
            )
        if not _from_a_browser(request):
            # curl and scripts: the result itself, not a redirect (``curl -L -XPOST`` would
            # follow it with POST again, round and round).
            return web.json_response(
                {
                    "incident": incident.id,
                    "status": incident.status.value,
                    "acknowledged_by": incident.acknowledged_by,
                    "acknowledged_at": incident.acknowledged_at.isoformat()
                    if incident.acknowledged_at
                    else None,
                },
                headers=_HEADERS,
            )
        # Relative to /ack/{token}, the token alone names the same URL, also behind a proxy
        # that serves Tocsin under a path prefix.
        raise web.HTTPSeeOther(location=request.match_info["token"], headers=_HEADERS)

    def name_of(self, person_id: str) -> str:
        person = self.people.get(person_id)
        return person.name if person is not None else person_id

    def _verify(self, request: web.Request, now: datetime) -> AckClaims:
        try:
            return verify_ack(self.secret, request.match_info["token"], now)
        except ExpiredLink as exc:
            raise _error(web.HTTPForbidden, ack_html.expired_link_page(exc.expired_at)) from None
        except InvalidLink:
            raise _error(web.HTTPForbidden, ack_html.invalid_link_page()) from None

    async def _load(self, claims: AckClaims) -> Incident:
        incident = await self.store.get(claims.incident_id)
        if incident is None:
            raise _not_found(claims)
        return incident

    async def _incident_page(self, incident: Incident, claims: AckClaims) -> str:
        records, _ = await self.store.alerts(incident.id, limit=PAGE_ALERTS)
        return ack_html.incident_page(incident, records, claims.person, self.name_of)


def add_routes(app: web.Application, pages: AckPages) -> None:
    app.router.add_get(ACK_ROUTE, pages.show)
    app.router.add_post(ACK_ROUTE, pages.acknowledge)


def _from_a_browser(request: web.Request) -> bool:
    """Browsers ask for HTML when they submit a form; curl asks for ``*/*``."""
    return "text/html" in request.headers.get("Accept", "")


def _html(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text, content_type="text/html", headers=_HEADERS)


def _error(kind: type[web.HTTPException], text: str) -> web.HTTPException:
    return kind(text=text, content_type="text/html", headers=_HEADERS)


def _not_found(claims: AckClaims) -> web.HTTPException:
    return _error(web.HTTPNotFound, ack_html.not_found_page(claims.incident_id))
