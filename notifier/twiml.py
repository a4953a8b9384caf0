"""What a voice page says and asks, as TwiML (Twilio's XML for a call). Pure: no I/O.

A call reads the page and asks for 1 to acknowledge. Twilio posts the key pressed to the
gather URL, which holds the page's signed acknowledge token; ``?retry=1`` marks the second
and last prompt, so a wrong key or silence is asked about once more, never in a loop.
"""

import re
import xml.etree.ElementTree as ET

from notifier.channels import Notification
from notifier.channels.render import cut, lead

GATHER_ROUTE = "/twilio/gather/{token}"
STATUS_ROUTE = "/twilio/status/{token}"
"""Where Twilio reports what became of a text or a call (``notifier.twilio_status``)."""
RETRY = "retry"

SPOKEN_TITLE_LIMIT = 200
"""Characters of the title read out: enough to know what burns, short enough to listen to."""

_NOT_XML = re.compile(r"[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""Characters XML 1.0 cannot hold even escaped (most control characters)."""


def gather_url(public_url: str, token: str, *, retry: bool = False) -> str:
    url = public_url.rstrip("/") + GATHER_ROUTE.format(token=token)
    return f"{url}?{RETRY}=1" if retry else url


def status_url(public_url: str, token: str) -> str:
    return public_url.rstrip("/") + STATUS_ROUTE.format(token=token)


def call_twiml(note: Notification, public_url: str, token: str | None) -> str:
    """The call for a page: what it is, then (with an acknowledge ``token``) the question,
    asked once more if nothing is pressed; without one, the page is read twice."""
    spoken = spoken_page(note)
    if token is None:
        return _twiml(_say(spoken), _say(spoken), ET.Element("Hangup"))
    return _twiml(
        _gather(gather_url(public_url, token), f"{spoken} Press 1 to acknowledge."),
        *_last_prompt(public_url, token, note.incident_id),
    )


def reprompt_twiml(public_url: str, token: str, incident_id: str) -> str:
    """After a wrong key at the first prompt."""
    return _twiml(*_last_prompt(public_url, token, incident_id))


def _last_prompt(public_url: str, token: str, incident_id: str) -> list[ET.Element]:
    again = gather_url(public_url, token, retry=True)
    return [
        _gather(again, f"Press 1 to acknowledge incident {incident_id}."),
        _say("Not acknowledged. Goodbye."),
        ET.Element("Hangup"),
    ]


def spoken_twiml(text: str) -> str:
    """Say ``text`` and hang up."""
    return _twiml(_say(text), ET.Element("Hangup"))


def spoken_page(note: Notification) -> str:
    severity = note.severity.value.removeprefix("SEV")
    title = cut(" ".join(note.title.split()), SPOKEN_TITLE_LIMIT)
    return f"Tocsin. Severity {severity}. Incident {note.incident_id}: {title}. {lead(note)}"


def _twiml(*verbs: ET.Element) -> str:
    response = ET.Element("Response")
    response.extend(verbs)
    return '<?xml version="1.0" encoding="UTF-8"?>' + ET.tostring(response, encoding="unicode")


def _say(text: str) -> ET.Element:
    say = ET.Element("Say")
    # ElementTree escapes &, < and >, but writes characters XML forbids as they are.
    say.text = _NOT_XML.sub(" ", text)
    return say


def _gather(action: str, prompt: str) -> ET.Element:
    gather = ET.Element("Gather", numDigits="1", action=action, method="POST", timeout="8")
    gather.append(_say(prompt))
    return gather
