"""The ``people``, ``escalation_policies`` and ``smtp`` sections of the configuration."""

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from schedules.durations import Duration


class Person(BaseModel):
    """A person and every way to reach them; a page goes out by each method given."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")
    webhook: str | None = Field(default=None, pattern=r"^https?://\S+$")
    console: bool = False
    """Print the page and its link in the service's output (for demos and laptops)."""


class Target(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Literal["schedule", "person", "group"]
    name: str
    round_robin: bool = False
    """For a group: one member per incident, in turn, instead of everyone."""

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}" + (":round-robin" if self.round_robin else "")


_TARGET_FORMS = "write schedule:<name>, person:<name>, group:<name> or group:<name>:round-robin"


def parse_target(text: str) -> Target:
    kind, sep, name = text.partition(":")
    round_robin = kind == "group" and name.endswith(":round-robin")
    name = name.removesuffix(":round-robin") if round_robin else name
    if not sep or not name or ":" in name or kind not in ("schedule", "person", "group"):
        raise ValueError(f"invalid target {text!r}: {_TARGET_FORMS}")
    return Target(kind=kind, name=name, round_robin=round_robin)


class Level(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    targets: list[Target] = Field(min_length=1)
    ack_timeout: Duration

    @field_validator("targets", mode="before")
    @classmethod
    def _parse_targets(cls, value: object) -> object:
        if isinstance(value, list):
            return [parse_target(v) if isinstance(v, str) else v for v in value]
        return value


class EscalationPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    repeat: int = Field(default=0, ge=0, le=20)
    """How many more times to run the whole policy after its last level."""
    levels: list[Level] = Field(min_length=1)


MAX_SEND_TIMEOUT = timedelta(seconds=15)


class SmtpConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    host: str
    port: int = Field(default=25, ge=1, le=65535)
    sender: str = Field(alias="from")
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: Duration = timedelta(seconds=10)

    @field_validator("timeout")
    @classmethod
    def _within_a_send(cls, timeout: timedelta) -> timedelta:
        # A paging run holds a delivery 30 s and stops itself after 20: a send that may take
        # longer could still be in flight when another run takes the delivery and resends.
        if timeout > MAX_SEND_TIMEOUT:
            raise ValueError(f"at most {MAX_SEND_TIMEOUT.seconds}s (a page must not wait longer)")
        return timeout
