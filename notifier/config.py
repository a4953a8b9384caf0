"""The ``people``, ``escalation_policies``, ``smtp``, ``slack`` and ``twilio`` sections of
the configuration."""

import re
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

from notifier.rules import NotificationRules
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

_E164 = re.compile(r"\+[1-9][0-9]{1,14}")


def _e164(number: str) -> str:
    if not _E164.fullmatch(number):
        raise ValueError(
            f"{number!r} is not an E.164 number: a + then the country code and the number, "
            "digits only (+4915112345678)"
        )
    return number


PhoneNumber = Annotated[str, AfterValidator(_e164)]
PhoneMethod = Literal["sms", "voice"]


CONTACT_METHODS = (
    "email",
    "webhook",
    "console",
    "slack_webhook",
    "slack_user",
    "slack_channel",
    "teams_webhook",
    "mattermost_webhook",
    "rocketchat_webhook",
    "apprise",
    "phone",
)
"""The fields of ``Person`` that page them: one set is enough."""


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
    phone: PhoneNumber | None = None
    """Reached through the ``twilio`` section, by each of ``phone_methods``."""
    phone_methods: list[PhoneMethod] = Field(default=["sms"], min_length=1)
    """``sms``, ``voice`` (a call that reads the page and takes 1 to acknowledge), or both."""
    rules: NotificationRules | None = None
    """Which methods page them, and when, by urgency; without, every method at once."""

    @model_validator(mode="after")
    def _destinations_agree(self) -> Self:
        given = [f for f in ("slack_webhook", "slack_user", "slack_channel") if getattr(self, f)]
        if len(given) > 1:
            raise ValueError(f"{' and '.join(given)}: give one Slack destination per person")
        if self.webhook_secret is not None and self.webhook is None:
            raise ValueError("webhook_secret signs the webhook, but there is no webhook")
        if "phone_methods" in self.model_fields_set and self.phone is None:
            raise ValueError("phone_methods says how to use the phone, but there is no phone")
        if len(set(self.phone_methods)) < len(self.phone_methods):
            raise ValueError("phone_methods: name each method once")
        return self

    def by_phone(self, method: PhoneMethod) -> str | None:
        """The number to reach this person at by ``method``, if they want it."""
        return self.phone if method in self.phone_methods else None

    @property
    def slack_target(self) -> str | None:
        """Where the Slack bot posts for this person."""
        return self.slack_user or self.slack_channel

    @property
    def reachable(self) -> bool:
        """Whether the person has any way to be paged."""
        return any(getattr(self, method) for method in CONTACT_METHODS)


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


def within_a_send(timeout: timedelta) -> timedelta:
    # A paging run holds a delivery 30 s and stops itself after 20: a send that may take
    # longer could still be in flight when another run takes the delivery and resends.
    if timeout > MAX_SEND_TIMEOUT:
        raise ValueError(f"at most {MAX_SEND_TIMEOUT.seconds}s (a page must not wait longer)")
    return timeout


SendTimeout = Annotated[Duration, AfterValidator(within_a_send)]


class SmtpConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    host: str
    port: int = Field(default=25, ge=1, le=65535)
    sender: str = Field(alias="from")
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: SendTimeout = timedelta(seconds=10)


class SlackConfig(BaseModel):
    """The Slack app whose bot token posts with ``chat.postMessage`` (scope ``chat:write``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bot_token: Secret
    api_url: HttpUrl = "https://slack.com/api"
    timeout: SendTimeout = timedelta(seconds=10)


class TwilioConfig(BaseModel):
    """The Twilio account (or a provider with Twilio's API) that sends SMS and places calls."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    account_sid: str = Field(pattern=r"^AC[0-9a-fA-F]{32}$")
    auth_token: Secret
    """Authenticates our requests, and signs Twilio's requests to us (the voice menu)."""
    sender: PhoneNumber | None = Field(default=None, alias="from")
    """A number of the account: the caller of every call, and the sender of SMS unless
    ``messaging_service_sid`` is given."""
    messaging_service_sid: str | None = Field(default=None, pattern=r"^MG[0-9a-fA-F]{32}$")
    base_url: HttpUrl = "https://api.twilio.com"
    timeout: SendTimeout = timedelta(seconds=10)

    @model_validator(mode="after")
    def _has_a_sender(self) -> Self:
        if self.sender is None and self.messaging_service_sid is None:
            raise ValueError("give from (a number of the account) or messaging_service_sid")
        return self
