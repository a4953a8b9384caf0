"""``/twilio/gather/{token}``: where Twilio posts the key pressed during a voice page.

Two checks before anything happens. Twilio's signature (``X-Twilio-Signature``, over the URL
we gave it and the POST parameters, keyed with the auth token) proves the request comes from
Twilio; the token in the path, the page's signed acknowledge token, names the incident, the
person and the expiry, so a genuine callback still cannot act on another incident. Then 1
acknowledges as that person; another key is asked about once more, and then the call ends.
"""

import logging
from collections.abc import Mapping

from aiohttp import web

from ingest.clock import Clock
from notifier.signing import Action, ExpiredLink, InvalidLink, verify_link
from notifier.twilio_signature import signed_by_twilio
from notifier.twiml import GATHER_ROUTE, RETRY, reprompt_twiml, spoken_twiml
from router.store import IllegalTransition, IncidentNotFound, IncidentStore

log = logging.getLogger(__name__)

ACKNOWLEDGE_KEY = "1"


class GatherCallbacks:
    def __init__(
        self,
        store: IncidentStore,
        secret: bytes,
        clock: Clock,
        auth_token: str,
        public_url: str,
    ) -> None:
        self.store = store
        self.secret = secret
        self.clock = clock
        self.auth_token = auth_token
        self.public_url = public_url.rstrip("/")

    async def gather(self, request: web.Request) -> web.Response:
        form = await twilio_form(request, self.auth_token, self.public_url)
        now = self.clock()
        token = request.match_info["token"]
        try:
            claims = verify_link(self.secret, token, now)
        except ExpiredLink:
            return _twiml(spoken_twiml("This page has expired; open the incident instead."))
        except InvalidLink:
            raise web.HTTPForbidden(text="invalid link") from None
        if Action.ACKNOWLEDGE not in claims.actions:
            raise web.HTTPForbidden(text="this link does not acknowledge")
        incident_id = claims.incident_id
        current = await self.store.get(incident_id)
        if current is not None and not claims.is_for(current.created_at):
            # The number was given again after lost writes: the call was for an earlier one.
            return _twiml(spoken_twiml(f"Incident {incident_id} is over. Goodbye."))
        if form.get("Digits") != ACKNOWLEDGE_KEY:
            if request.query.get(RETRY) == "1":
                return _twiml(spoken_twiml("Not acknowledged. Goodbye."))
            return _twiml(reprompt_twiml(self.public_url, token, incident_id))
        try:
            incident = await self.store.acknowledge(incident_id, claims.person, now)
        except IncidentNotFound:
            return _twiml(spoken_twiml(f"Incident {incident_id} no longer exists. Goodbye."))
        except IllegalTransition:
            return _twiml(spoken_twiml(f"Incident {incident_id} is already resolved. Goodbye."))
        if incident.acknowledged_by != claims.person:
            return _twiml(spoken_twiml(f"Incident {incident_id} was already acknowledged."))
        if incident.acknowledged_at == now:
            log.info(
                "incident %s acknowledged by %s by phone",
                incident.id,
                claims.person,
                extra={"event": "acknowledged", "incident": incident.id, "person": claims.person},
            )
        return _twiml(spoken_twiml("Acknowledged. Thank you."))


async def twilio_form(request: web.Request, auth_token: str, public_url: str) -> Mapping[str, str]:
    """The POST parameters of a request Twilio signed; 403 for any other request."""
    form = await request.post()
    params = [(name, value) for name, value in form.items() if isinstance(value, str)]
    # The URL as Twilio was given it: our public URL (a proxy may have changed scheme,
    # host and prefix on the way), then the path and query as sent.
    url = public_url + request.raw_path
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signed_by_twilio(auth_token, url, params, signature):
        raise web.HTTPForbidden(text="not signed by Twilio")
    return dict(params)


def add_routes(app: web.Application, callbacks: GatherCallbacks) -> None:
    app.router.add_post(GATHER_ROUTE, callbacks.gather)


def _twiml(text: str) -> web.Response:
    return web.Response(text=text, content_type="text/xml", headers={"Cache-Control": "no-store"})
