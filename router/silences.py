"""Silences: matchers and a time span during which matching alerts page nobody (they are
still recorded on their incidents). Shaped like Alertmanager's v2 silences, so the tools
operators already use (``amtool silence add|query|expire``) work against Tocsin.

Pure: what a silence is, its state at an instant, which silence holds a set of labels.
"""

from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from router.matchers import Matcher, MatcherError, Op

MAX_MATCHERS = 100


class SilenceState(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    EXPIRED = "expired"


class SilenceMatcher(BaseModel):
    """One matcher as Alertmanager's API writes it."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    name: str = Field(min_length=1, max_length=1024)
    value: str = Field(max_length=16_384)
    is_regex: bool = Field(alias="isRegex")
    is_equal: bool = Field(default=True, alias="isEqual")

    def matcher(self) -> Matcher:
        return _compiled(self)

    def _build(self) -> Matcher:
        op = {
            (False, True): Op.EQUAL,
            (False, False): Op.NOT_EQUAL,
            (True, True): Op.REGEX,
            (True, False): Op.NOT_REGEX,
        }[(self.is_regex, self.is_equal)]
        return Matcher.of(self.name, op, self.value)

    @classmethod
    def of(cls, matcher: Matcher) -> Self:
        return cls(
            name=matcher.name,
            value=matcher.value,
            is_regex=matcher.op in (Op.REGEX, Op.NOT_REGEX),
            is_equal=matcher.op in (Op.EQUAL, Op.REGEX),
        )


class Silence(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    id: str = ""
    matchers: list[SilenceMatcher] = Field(min_length=1, max_length=MAX_MATCHERS)
    starts_at: AwareDatetime = Field(alias="startsAt")
    ends_at: AwareDatetime = Field(alias="endsAt")
    created_by: str = Field(alias="createdBy", min_length=1, max_length=1024)
    comment: str = Field(max_length=16_384)
    updated_at: AwareDatetime | None = Field(default=None, alias="updatedAt")

    @model_validator(mode="after")
    def _checked(self) -> Self:
        if self.ends_at < self.starts_at:  # equal: expired before it started
            raise ValueError("endsAt must not be before startsAt")
        try:
            compiled = [m.matcher() for m in self.matchers]
        except MatcherError as error:
            raise ValueError(str(error)) from None
        if all(m.matches({}) for m in compiled):
            # Alertmanager refuses these too: they would silence every alert there is.
            raise ValueError("at least one matcher must not match the empty string")
        return self

    def state(self, now: datetime) -> SilenceState:
        if now < self.starts_at:
            return SilenceState.PENDING
        return SilenceState.ACTIVE if now < self.ends_at else SilenceState.EXPIRED

    def holds(self, labels: Mapping[str, str], now: datetime) -> bool:
        return self.state(now) is SilenceState.ACTIVE and all(
            m.matcher().matches(labels) for m in self.matchers
        )

    def as_api(self, now: datetime) -> dict[str, object]:
        """The ``gettableSilence`` of Alertmanager's API v2."""
        body = self.model_dump(mode="json", by_alias=True)
        body["status"] = {"state": self.state(now).value}
        return body


@lru_cache(maxsize=4096)
def _compiled(matcher: SilenceMatcher) -> Matcher:
    """Regexes compiled once per matcher, not once per alert checked."""
    return matcher._build()


def holding(
    silences: Iterable[Silence], labels: Mapping[str, str], now: datetime
) -> Silence | None:
    """The active silence that holds an alert with these labels, ending last, if any."""
    found = [silence for silence in silences if silence.holds(labels, now)]
    return max(found, key=lambda silence: silence.ends_at, default=None)
