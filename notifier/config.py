"""The ``people``, ``escalation_policies``, ``smtp`` and ``slack`` sections of the
configuration."""

from datetime import timedelta
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from notifier.secret_values import Secret
from schedules.durations import Duration

HttpUrl = Annotated[str, Field(pattern=r"^https?://\S+$")]


def _known_to_apprise(url: str) -> str:
    # Imported here: Apprise loads its service plugins on import, which only people with
    # Apprise URLs need to wait for.
    from apprise import Apprise

    if not Apprise().add(url):
        scheme = url.partition("://")[0] if "://" in url else "(none)"
        # Only the scheme: the rest of an Apprise URL is usually a token.
        raise ValueError(f"Apprise cannot use this URL (scheme {scheme!r})")
    return url


AppriseUrl = Annotated[str, AfterValidator(_known_to_apprise)]


class Person(BaseModel):
    """A person and every way to reach them; a page goes out by each method given."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")
    webhook: HttpUrl | None = Field(default=None, repr=False)
    webhook_secret: Secret | None = None
    """Signs each webhook request (overrides the top-level ``webhook_secret``)."""
    console: bool = False
    """Print the page and its link in the service's output (for demos and laptops)."""
    slack_webhook: HttpUrl | None = Field(default=None, repr=False)
    """A Slack incoming webhook: posts to the channel it was made for."""
    slack_user: str | None = Field(default=None, pattern=r"^[UW][A-Z0-9]+$")
    """A Slack member id: the bot of the ``slack`` section writes to them directly."""
    slack_channel: str | None = Field(default=None, pattern=r"^[CGD][A-Z0-9]+$")
    """A Slack channel id the bot of the ``slack`` section is a member of."""
    teams_webhook: HttpUrl | None = Field(default=None, repr=False)
    """A Microsoft Teams workflow ("Post to a channel when a webhook request is received")."""
    mattermost_webhook: HttpUrl | None = Field(default=None, repr=False)
    rocketchat_webhook: HttpUrl | None = Field(default=None, repr=False)
    apprise: list[AppriseUrl] | None = Field(default=None, min_length=1, repr=False)
    """Apprise URLs (``tgram://...``, ``ntfy://...``); each is a credential, never shown."""

    @model_validator(mode="after")
    def _destinations_agree(self) -> Self:
        given = [f for f in ("slack_webhook", "slack_user", "slack_channel") if getattr(self, f)]
        if len(given) > 1:
            raise ValueError(f"{' and '.join(given)}: give one Slack destination per person")
        if self.webhook_secret is not None and self.webhook is None:
            raise ValueError("webhook_secret signs the webhook, but there is no webhook")
        return self

    @property
    def slack_target(self) -> str | None:
        """Where the Slack bot posts for this person."""
        return self.slack_user or self.slack_channel


class Target(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Literal["schedule", "person"]
    name: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"


def parse_target(text: str) -> Target:
    kind, sep, name = text.partition(":")
    if not sep or not name or kind not in ("schedule", "person"):
        raise ValueError(f"invalid target {text!r}: write schedule:<name> or person:<name>")
    return Target(kind=kind, name=name)


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
        return within_a_send(timeout)


def within_a_send(timeout: timedelta) -> timedelta:
    # A paging run holds a delivery 30 s and stops itself after 20: a send that may take
    # longer could still be in flight when another run takes the delivery and resends.
    if timeout > MAX_SEND_TIMEOUT:
        raise ValueError(f"at most {MAX_SEND_TIMEOUT.seconds}s (a page must not wait longer)")
    return timeout


class SlackConfig(BaseModel):
    """The Slack app whose bot token posts with ``chat.postMessage`` (scope ``chat:write``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bot_token: Secret
    api_url: HttpUrl = "https://slack.com/api"
    timeout: Duration = timedelta(seconds=10)

    @field_validator("timeout")
    @classmethod
    def _within_a_send(cls, timeout: timedelta) -> timedelta:
        return within_a_send(timeout)
