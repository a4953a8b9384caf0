"""A local stand-in for Twilio's REST API on 127.0.0.1: Messages and Calls of one account,
checked as Twilio checks them and answered with Twilio's JSON, its errors included; and
Twilio's side of a call, which presses keys at a ``<Gather>`` and signs its request."""

import base64
import hmac
import re
import xml.etree.ElementTree as ET
from typing import Any

import aiohttp
from aiohttp import web

from tests.integration.chat_peers import Hold

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "twilio-auth-token-0123456789abcdef"
FROM = "+15550001111"
MESSAGING_SERVICE_SID = "MG" + "fedcba9876543210" * 2

SLOW = "+4915100000000"
"""A number whose requests Twilio takes forever to answer."""
INVALID = "+15005550001"
"""E.164 in form, but no phone has it (Twilio's test credentials refuse it the same way)."""
BUSY = {"+4915100000429": 429, "+4915100000503": 503}
"""Numbers whose requests get these statuses."""

_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
_SID_CHARS = "0123456789abcdef"


def error(status: int, code: int, message: str) -> web.Response:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return web.json_response(body, status=status)


def sign(auth_token: str, url: str, params: dict[str, str]) -> str:
    """Twilio's signature, as its docs describe it: the URL, then each parameter's name and
    value in the order of the names, HMAC-SHA1 under the auth token, base64."""
    text = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), text.encode(), "sha1").digest()).decode()


class TwilioPeer:
    def __init__(self) -> None:
        self.messages: list[dict[str, str]] = []
        self.calls: list[dict[str, str]] = []
        self.hold = Hold()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self.create_message)
        app.router.add_post("/2010-04-01/Accounts/{sid}/Calls.json", self.create_call)
        return app

    async def _form(self, request: web.Request) -> dict[str, str] | web.Response:
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        try:
            login = base64.b64decode(encoded, validate=True).decode()
        except ValueError:
            login = ""
        if scheme != "Basic" or login != f"{ACCOUNT_SID}:{AUTH_TOKEN}":
            return error(401, 20003, "Authenticate")
        if request.match_info["sid"] != ACCOUNT_SID:
            return error(404, 20404, "The requested resource was not found")
        if request.content_type != "application/x-www-form-urlencoded":
            return error(400, 20001, "Unsupported content type")
        form = {name: str(value) for name, value in (await request.post()).items()}
        to = form.get("To", "")
        if to == SLOW:
            await self.hold.forever()
        if to in BUSY:
            status = BUSY[to]
            headers = {"Retry-After": "30"} if status == 429 else {}
            answer = error(status, 20429 if status == 429 else 20500, "Too Many Requests")
            answer.headers.update(headers)
            return answer
        if not _E164.fullmatch(to) or to == INVALID:
            return error(400, 21211, f"Invalid 'To' Phone Number: {to}")
        return form

    async def create_message(self, request: web.Request) -> web.Response:
        form = await self._form(request)
        if isinstance(form, web.Response):
            return form
        senders = [name for name in ("From", "MessagingServiceSid") if name in form]
        if not senders:
            return error(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required")
        if "From" in form and not _E164.fullmatch(form["From"]):
            return error(400, 21212, f"Invalid From Number: {form['From']}")
        if not 0 < len(form.get("Body", "")) <= 1600:
            return error(400, 21617, "The concatenated message body exceeds the 1600 limit")
        self.messages.append(form)
        return web.json_response(self._resource("SM", form, body=form["Body"]), status=201)

    async def create_call(self, request: web.Request) -> web.Response:
        form = await self._form(request)
        if isinstance(form, web.Response):
            return form
        if not _E164.fullmatch(form.get("From", "")):
            return error(400, 21212, f"Invalid From Number: {form.get('From')}")
        if ("Twiml" in form) == ("Url" in form):
            return error(400, 21205, "Give one of Url or Twiml")
        if len(form.get("Twiml", "")) > 4000:
            return error(400, 21232, "Twiml exceeds the 4000 character limit")
        try:
            assert ET.fromstring(form["Twiml"]).tag == "Response"
        except (ET.ParseError, AssertionError):
            return error(400, 12100, "Document parse failure")
        self.calls.append(form)
        return web.json_response(self._resource("CA", form), status=201)

    def _resource(self, prefix: str, form: dict[str, str], **more: str) -> dict[str, Any]:
        number = len(self.messages) + len(self.calls)
        sid = prefix + _SID_CHARS[number % 16] * 32
        resource = "Messages" if prefix == "SM" else "Calls"
        return {
            "account_sid": ACCOUNT_SID,
            "api_version": "2010-04-01",
            "date_created": "Mon, 02 Mar 2026 12:00:00 +0000",
            "direction": "outbound-api",
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "sid": sid,
            "status": "queued",
            "to": form["To"],
            "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/{resource}/{sid}.json",
            **more,
        }


async def report(
    http: aiohttp.ClientSession,
    created: dict[str, str],
    status: str,
    *,
    error_code: str | None = None,
    url: str | None = None,
    auth_token: str = AUTH_TOKEN,
) -> int:
    """What Twilio does once it knows what became of a text or a call it ``created``: POST
    its status to the ``StatusCallback`` it was given, signed; ``url`` posts to another
    address with that URL's signature (a proxy that rewrote it)."""
    callback = created["StatusCallback"]
    if "Twiml" in created:
        params = {"CallSid": "CA" + "2" * 32, "CallStatus": status, "CallDuration": "0"}
    else:
        params = {"MessageSid": "SM" + "3" * 32, "MessageStatus": status, "SmsStatus": status}
    params |= {
        "AccountSid": ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "From": created.get("From", ""),
        "To": created["To"],
        **({"ErrorCode": error_code} if error_code else {}),
    }
    headers = {"X-Twilio-Signature": sign(auth_token, callback, params)}
    async with http.post(url or callback, data=params, headers=headers) as response:
        return response.status


def gathers(twiml: str) -> list[ET.Element]:
    root = ET.fromstring(twiml)
    assert root.tag == "Response"
    return root.findall("Gather")


async def press(
    http: aiohttp.ClientSession,
    gather: ET.Element,
    digits: str,
    *,
    auth_token: str = AUTH_TOKEN,
    url: str | None = None,
) -> tuple[int, str]:
    """What Twilio does when a key is pressed at ``gather``: POST the digits and the call's
    details to its action, signed; ``url`` posts to another address with the action's
    signature (a proxy that rewrote it)."""
    assert (gather.get("numDigits"), gather.get("method")) == ("1", "POST")
    action = gather.get("action")
    assert action is not None
    params = {
        "AccountSid": ACCOUNT_SID,
        "CallSid": "CA" + "1" * 32,
        "CallStatus": "in-progress",
        "Digits": digits,
        "Direction": "outbound-api",
        "From": FROM,
        "To": "+4915112345678",
        "FinishedOnKey": "",
        "msg": "Gather End",
    }
    headers = {"X-Twilio-Signature": sign(auth_token, action, params)}
    async with http.post(url or action, data=params, headers=headers) as response:
        return response.status, await response.text()
