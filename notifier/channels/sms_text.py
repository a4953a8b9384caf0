"""The text of an SMS: the headline and the acknowledge link, in one segment when it fits.

A message is billed and delivered per segment: 160 characters of the GSM 7-bit alphabet
(its extension characters take two), or 70 UTF-16 units once any other character is in it.
So the wording uses GSM characters only, the common typographic ones in a title become
their plain lookalikes, and the title is cut to leave the link whole: a cut link is useless,
a cut title is still on the page the link opens.
"""

from notifier.channels import Notification
from notifier.channels.render import headline

GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = frozenset("^{}\\[~]|€\f")
"""Sent as an escape and the character: two of a segment's septets."""

GSM_SEGMENT = 160
UCS2_SEGMENT = 70

MIN_TITLE = 20
"""Characters of the title kept even when the link leaves no room in one segment."""

_LOOKALIKES = str.maketrans(
    {
        "\u2014": "-",  # em dash
        "\u2013": "-",  # en dash
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2026": "...",
        "\u00a0": " ",
    }
)


def sms_text(note: Notification) -> str:
    """``[SEV1] Tocsin #42: <title> - ack: <link>`` for a page; the headline for a notice."""
    head = headline(note.model_copy(update={"title": ""}))
    tail = f" - ack: {note.ack_url}" if note.ack_url else ""
    title = " ".join(note.title.translate(_LOOKALIKES).split())
    gsm = is_gsm(head + title + tail)
    room = (GSM_SEGMENT if gsm else UCS2_SEGMENT) - length(head + tail, gsm=gsm)
    return head + cut(title, max(room, MIN_TITLE), gsm=gsm) + tail


def is_gsm(text: str) -> bool:
    return all(c in GSM_BASIC or c in GSM_EXTENSION for c in text)


def length(text: str, *, gsm: bool) -> int:
    """Septets in GSM 7-bit, or UTF-16 units in UCS-2."""
    if gsm:
        return sum(2 if c in GSM_EXTENSION else 1 for c in text)
    return len(text.encode("utf-16-le")) // 2


def segments(text: str) -> int:
    """How many segments a message of ``text`` is sent in (a concatenated message gives 7
    septets or 3 units of each segment to the header that joins them)."""
    gsm = is_gsm(text)
    units = length(text, gsm=gsm)
    single, multi = (GSM_SEGMENT, 153) if gsm else (UCS2_SEGMENT, 67)
    return 1 if units <= single else -(-units // multi)


def cut(text: str, limit: int, *, gsm: bool) -> str:
    if length(text, gsm=gsm) <= limit:
        return text
    used = 0
    for end, c in enumerate(text):
        used += length(c, gsm=gsm)
        if used > limit - 3:
            return text[:end] + "..."
    return text
