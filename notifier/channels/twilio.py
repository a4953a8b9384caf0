"""SMS and voice calls through Twilio's REST API, or a provider that speaks it (``base_url``).

Both create a resource of the account with a form POST under HTTP basic auth (account SID
and auth token): ``Messages.json`` (To, From or MessagingServiceSid, Body) and ``Calls.json``
(To, From, Twiml). Twilio answers 201 with the resource, or an error ``{code, message,
status}``: a 429 or a 5xx may pass; any other refusal (400 with 21211, an invalid 'To'; 401,
bad credentials) needs someone to change the configuration.

A 201 only says Twilio took the text or the call. A page also asks for Twilio's
``StatusCallback``, signed for its delivery, so a text that was never delivered or a call
nobody answered counts as the failure it is (``notifier.twilio_status``).
"""

import base64
import json
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from notifier.channels import ACTION_KINDS, DeliveryResult, Kind, Notification
from notifier.channels.posting import Poster, Reply
from notifier.channels.sms_text import sms_text
from notifier.config import Person, TwilioConfig
from notifier.sending import Links
from notifier.signing import StatusClaims, link_token, sign_status
from notifier.twiml import call_twiml, status_url

API_VERSION = "2010-04-01"
_DETAIL_LIMIT = 200


class TwilioApi:
    def __init__(self, config: TwilioConfig) -> None:
        self.config = config
        self.poster = Poster(config.timeout)

    async def create(self, resource: str, fields: dict[str, str]) -> DeliveryResult:
        """Create ``Messages`` or ``Calls`` of the account."""
        config = self.config
        url = (
            f"{config.base_url.rstrip('/')}/{API_VERSION}/Accounts/{config.account_sid}/"
            f"{resource}.json"
        )
        credentials = f"{config.account_sid}:{config.auth_token.get_secret_value()}"
        headers = {
            "Authorization": f"Basic {base64.b64encode(credentials.encode()).decode()}",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        reply = await self.poster.post(url, urlencode(fields).encode(), headers)
        return reply if isinstance(reply, DeliveryResult) else api_result(reply)

    async def aclose(self) -> None:
        await self.poster.aclose()


def api_result(reply: Reply) -> DeliveryResult:
    answer = _object(reply.text)
    if 200 <= reply.status < 300:
        sid = answer.get("sid")
        if not isinstance(sid, str):
            # Not Twilio: base_url points at something else, which another try won't change.
            return DeliveryResult.failed(
                f"{reply.detail}: not a Twilio API answer", retryable=False
            )
        return DeliveryResult.delivered(f"{reply.detail}: {sid} {answer.get('status', '')}")
    result = reply.result()
    if "code" not in answer and "message" not in answer:
        return result
    error = f"Twilio error {answer.get('code')}: {answer.get('message')}"[:_DETAIL_LIMIT]
    return replace(result, detail=f"{result.detail}: {error}")


def status_callback(links: Links, note: Notification, channel: str) -> dict[str, str]:
    """The ``StatusCallback`` field of a page: none for a notice (it asks nothing of
    anyone) or a page that is no incident's delivery."""
    delivery = note.delivery
    if note.kind not in ACTION_KINDS or delivery is None:
        return {}
    claims = StatusClaims(note.incident_id, delivery.created_at, note.person, channel, delivery.tag)
    return {"StatusCallback": status_url(links.public_url, sign_status(links.secret, claims))}


def _object(text: str) -> dict[str, Any]:
    try:
        answer = json.loads(text)
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


class SmsChannel:
    name = "sms"

    def __init__(self, config: TwilioConfig, links: Links) -> None:
        self.api = TwilioApi(config)
        self.links = links

    def reaches(self, person: Person) -> bool:
        return person.by_phone("sms") is not None

    async def send(self, person: Person, note: Notification) -> DeliveryResult:
        to = person.by_phone("sms")
        if to is None:
            return DeliveryResult.failed("no phone for SMS", retryable=False)
        config = self.api.config
        fields = {"To": to, "Body": sms_text(note), **status_callback(self.links, note, self.name)}
        if config.messaging_service_sid is not None:
            fields["MessagingServiceSid"] = config.messaging_service_sid
        elif config.sender is not None:
            fields["From"] = config.sender
        return await self.api.create("Messages", fields)

    async def aclose(self) -> None:
        await self.api.aclose()


class VoiceChannel:
    """A call that reads the page and takes 1 to acknowledge (``notifier.voice_web``)."""

    name = "voice"
    kinds: frozenset[Kind] = frozenset({"page"})
    """Notices (resolved, acknowledged by someone else) are no reason to ring a phone."""

    def __init__(self, config: TwilioConfig, links: Links) -> None:
        self.api = TwilioApi(config)
        self.links = links

    def reaches(self, person: Person) -> bool:
        return person.by_phone("voice") is not None

    async def send(self, person: Person, note: Notification) -> DeliveryResult:
        to, caller = person.by_phone("voice"), self.api.config.sender
        if to is None or caller is None:
            return DeliveryResult.failed("no phone or caller number for a call", retryable=False)
        # The page's own link, and only for a page that has one (a page about Tocsin's own
        # failure has no incident to acknowledge).
        token = link_token(note.ack_url) if note.ack_url else None
        twiml = call_twiml(note, self.links.public_url, token)
        fields = {"To": to, "From": caller, "Twiml": twiml}
        return await self.api.create("Calls", fields | status_callback(self.links, note, self.name))

    async def aclose(self) -> None:
        await self.api.aclose()
