"""The text of an SMS page: the whole link always, one segment whenever the link leaves room,
the title cut to make it so."""

from hypothesis import given
from hypothesis import strategies as st

from notifier.channels import Notification
from notifier.channels.sms_text import MIN_TITLE, is_gsm, length, segments, sms_text
from router.config import Severity
from router.models import IncidentStatus

ACK = "https://tocsin.example.com/ack/v1.WyI0MiIsImFsaWNlIiwxNzcyNDU2NDAwXQ.qodPL0JgTvnubYN2HYx6EQ"
SHORT_ACK = "https://t.example/a/x"
PAGE = Notification(
    kind="page",
    incident_id="42",
    title="Checkout errors",
    severity=Severity.SEV1,
    status=IncidentStatus.TRIGGERED,
    level=1,
    person="alice",
    person_name="Alice",
    ack_url=ACK,
)
HEAD = "[SEV1] Tocsin #42: "


def text_of(title: str, ack_url: str | None = ACK) -> str:
    return sms_text(PAGE.model_copy(update={"title": title, "ack_url": ack_url}))


def test_a_page_is_the_headline_and_the_link_in_one_segment() -> None:
    text = text_of("Checkout errors")

    assert text == f"{HEAD}Checkout errors - ack: {ACK}"
    assert segments(text) == 1


def test_a_long_title_is_cut_to_fit_one_segment_of_160() -> None:
    text = text_of("Checkout error rate above 5% on every payment node in eu1 and us2 " * 3)

    assert length(text, gsm=True) == 160
    assert text.startswith(f"{HEAD}Checkout error rate")
    assert text.endswith(f"... - ack: {ACK}")


def test_typographic_punctuation_becomes_plain_so_the_page_stays_gsm() -> None:
    text = text_of("Disk full \u2014 \u201cdb-1\u201d\u2026 K\u00f6ln")

    assert text == f'{HEAD}Disk full - "db-1"... Köln - ack: {ACK}'
    assert is_gsm(text)


def test_a_title_outside_gsm_fits_70_when_the_link_is_short() -> None:
    text = text_of("Pager \U0001f525 on fire in the west region datacenter", SHORT_ACK)

    assert not is_gsm(text)
    assert length(text, gsm=False) == 70
    assert segments(text) == 1
    assert text.endswith(f"... - ack: {SHORT_ACK}")


def test_a_notice_has_no_link() -> None:
    resolved = PAGE.model_copy(
        update={"kind": "resolved", "status": IncidentStatus.RESOLVED, "ack_url": None}
    )

    assert sms_text(resolved) == "[RESOLVED] Tocsin #42: Checkout errors"


def test_gsm_extension_characters_take_two_septets() -> None:
    assert length("{x}", gsm=True) == 5
    assert segments("€" * 80) == 1
    assert segments("€" * 81) == 2


@given(st.text(), st.sampled_from([ACK, SHORT_ACK]))
def test_any_title_keeps_the_link_whole_and_one_segment_when_there_is_room(
    title: str, ack_url: str
) -> None:
    text = text_of(title, ack_url)
    tail = f" - ack: {ack_url}"

    assert text.startswith(HEAD)
    assert text.endswith(tail)
    gsm = is_gsm(text)
    fixed = length(HEAD + tail, gsm=gsm)
    if fixed + MIN_TITLE <= (160 if gsm else 70):
        assert segments(text) == 1
    else:
        assert length(text, gsm=gsm) - fixed <= MIN_TITLE
