"""The normalized alert: the one contract on the alert stream, whatever tool sent it.

An ``Alert`` cannot hold what the router or the notifier would fail on: every time converts to
UTC (and is stored in UTC), all text is Unicode that UTF-8 can store, and every size is
bounded. Payload models of sources are built from the same field types, so what a payload
model accepts always makes an ``Alert``; the bounds are explained in ``ingest.sources.base``.
"""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

MAX_NAME = 1024
MAX_SHORT_TEXT = 16 * 1024
MAX_LONG_TEXT = 64 * 1024
MAX_LABELS = 1000
MAX_DEDUP_KEY = 512


class AlertStatus(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"
    ACKNOWLEDGED = "acknowledged"
    """The sender says someone is on it (PagerDuty's ``acknowledge``): not a state of the
    alert but an action, which the router applies to the open incidents where an alert with
    this dedup key fires. No alert record ever holds it."""


def _storable(value: object) -> object:
    # Before pydantic's own check, which refuses a lone surrogate with a vaguer message.
    if isinstance(value, str) and not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("must be Unicode text, not a lone UTF-16 surrogate") from None
    return value


def _in_utc(moment: datetime) -> datetime:
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        # 9999-12-31T23:59:59-05:00 is past the last day Python's calendar has in UTC, and
        # 0001-01-01T00:30:00+01:00 before its first.
        raise ValueError("must be a time between the years 1 and 9999 in UTC") from None


def _one_line(text: str) -> str:
    # The summary becomes an incident's title and a mail's Subject, where a line break is
    # refused: the lines of an Alertmanager description used as a summary join with spaces.
    return " ".join(text.splitlines())


_STORABLE = BeforeValidator(_storable)
Name = Annotated[str, Field(max_length=MAX_NAME), _STORABLE]
ShortText = Annotated[str, Field(max_length=MAX_SHORT_TEXT), _STORABLE]
LongText = Annotated[str, Field(max_length=MAX_LONG_TEXT), _STORABLE]
DedupKey = Annotated[str, Field(max_length=MAX_DEDUP_KEY), _STORABLE]
UtcTime = Annotated[AwareDatetime, AfterValidator(_in_utc)]
"""An aware time that exists in UTC, stored in UTC (equal to the time it was given as)."""


class Alert(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    dedup_key: Annotated[str, Field(min_length=1, max_length=MAX_DEDUP_KEY), _STORABLE]
    """Identity of the alert across repeats: the source's fingerprint or dedup key, else a
    stable hash of the labels (see ``ingest.fingerprint``)."""
    status: AlertStatus
    summary: Annotated[LongText, AfterValidator(_one_line)]
    """One line: line breaks become spaces."""
    labels: Annotated[dict[Name, ShortText], Field(max_length=MAX_LABELS)] = Field(
        default_factory=dict
    )
    """Route and severity rules match these. Sources put their severity here too."""
    annotations: Annotated[dict[Name, LongText], Field(max_length=MAX_LABELS)] = Field(
        default_factory=dict
    )
    integration: str
    """Name of the configured integration the webhook arrived on."""
    source: str
    """Format it arrived in: ``alertmanager``, ``generic``, ..."""
    origin: ShortText | None = None
    """The system that raised it, when the source says (a host, a tool instance)."""
    generator_url: ShortText | None = None
    starts_at: UtcTime | None = None
    ends_at: UtcTime | None = None
    received_at: UtcTime
    sender_not_shown: int = Field(default=0, ge=0, le=10**9)
    """Alerts of the same notification the sender left out (Alertmanager's
    ``truncatedAlerts``): while the sender says some are unseen, their group may still fire,
    and its incident must not resolve on the alerts shown."""

    @property
    def is_firing(self) -> bool:
        return self.status is AlertStatus.FIRING
