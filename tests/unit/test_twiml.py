"""What a voice page says: well-formed TwiML whatever a sender put in the title, a menu only
with an acknowledge token, and never more than one prompt after the first."""

import xml.etree.ElementTree as ET

from hypothesis import given
from hypothesis import strategies as st

from notifier.channels import Notification
from notifier.twiml import call_twiml, gather_url, reprompt_twiml, spoken_twiml
from router.config import Severity
from router.models import IncidentStatus

PUBLIC_URL = "https://tocsin.example.com/oncall/"
TOKEN = "v1.abc.def"
PAGE = Notification(
    kind="page",
    incident_id="42",
    title="Checkout errors",
    severity=Severity.SEV2,
    status=IncidentStatus.TRIGGERED,
    level=2,
    person="alice",
    person_name="Alice",
    ack_url=f"https://tocsin.example.com/oncall/ack/{TOKEN}",
)


def verbs(twiml: str) -> list[ET.Element]:
    assert twiml.startswith('<?xml version="1.0" encoding="UTF-8"?><Response>')
    root = ET.fromstring(twiml)
    assert root.tag == "Response"
    return list(root)


def test_a_page_asks_for_1_and_asks_once_more_before_hanging_up() -> None:
    first, again, goodbye, hangup = verbs(call_twiml(PAGE, PUBLIC_URL, TOKEN))

    assert first.tag == again.tag == "Gather"
    assert first.attrib == {
        "numDigits": "1",
        "action": "https://tocsin.example.com/oncall/twilio/gather/v1.abc.def",
        "method": "POST",
        "timeout": "8",
    }
    assert first.findtext("Say") == (
        "Tocsin. Severity 2. Incident 42: Checkout errors. "
        "Alice, you are paged (escalation level 2). Press 1 to acknowledge."
    )
    assert again.get("action") == f"{first.get('action')}?retry=1"
    assert again.findtext("Say") == "Press 1 to acknowledge incident 42."
    assert (goodbye.tag, goodbye.text, hangup.tag) == (
        "Say",
        "Not acknowledged. Goodbye.",
        "Hangup",
    )


def test_the_reprompt_is_the_last_prompt() -> None:
    gather, _, hangup = verbs(reprompt_twiml(PUBLIC_URL, TOKEN, "42"))

    assert gather.get("action") == gather_url(PUBLIC_URL, TOKEN, retry=True)
    assert hangup.tag == "Hangup"


def test_without_a_token_the_page_is_read_twice_with_no_menu() -> None:
    first, second, hangup = verbs(call_twiml(PAGE, PUBLIC_URL, None))

    assert (first.tag, second.tag, hangup.tag) == ("Say", "Say", "Hangup")
    assert first.text == second.text


def test_a_spoken_answer_hangs_up() -> None:
    say, hangup = verbs(spoken_twiml("Acknowledged. Thank you."))

    assert (say.text, hangup.tag) == ("Acknowledged. Thank you.", "Hangup")


@given(st.text())
def test_any_title_makes_well_formed_twiml_that_reads_it(title: str) -> None:
    twiml = call_twiml(PAGE.model_copy(update={"title": title}), PUBLIC_URL, TOKEN)

    first = verbs(twiml)[0]
    assert len(twiml) <= 4000  # Twilio's limit for inline TwiML
    said = first.findtext("Say") or ""
    words = " ".join(title.split())
    if words.isprintable() and len(words) < 200:
        assert f"Incident 42: {words}." in said
