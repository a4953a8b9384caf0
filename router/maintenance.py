"""Maintenance windows: recurring silences written in the configuration ("payments, Sundays
02:00-04:00 Europe/Berlin"). Pure: the silence a window stands for while it is open (when it
is open is ``schedules.weekly``'s arithmetic).
"""

from datetime import datetime

from pydantic import Field, field_validator

from router.matchers import parse_matcher
from router.silences import Silence, SilenceMatcher
from schedules.weekly import WeeklyWindow


class MaintenanceWindow(WeeklyWindow):
    name: str = Field(min_length=1)
    matchers: list[str] = Field(min_length=1)
    """As silences have them: ``service=payments``, ``env=~"prod.*"``."""

    @field_validator("matchers")
    @classmethod
    def _parsed(cls, matchers: list[str]) -> list[str]:
        compiled = [parse_matcher(text) for text in matchers]  # MatcherError is a ValueError
        if all(matcher.matches({}) for matcher in compiled):
            raise ValueError("at least one matcher must not match the empty string")
        return matchers

    def silence_at(self, now: datetime) -> Silence | None:
        """The silence the window stands for while it is open."""
        span = self.open_at(now)
        if span is None:
            return None
        return Silence(
            id=f"maintenance:{self.name}",
            matchers=[SilenceMatcher.of(parse_matcher(text)) for text in self.matchers],
            starts_at=span[0],
            ends_at=span[1],
            created_by="maintenance window",
            comment=f"maintenance window {self.name}",
        )
