"""Incoming webhooks of chat tools that take Slack's simplest body, ``{"text": ...}`` in
Markdown: Mattermost and Rocket.Chat. One class; each tool is a name and the person's field."""

from collections.abc import Callable
from datetime import timedelta

from notifier.channels import DeliveryResult, Notification
from notifier.channels.posting import DEFAULT_TIMEOUT, Poster, encode
from notifier.channels.render import markdown_body
from notifier.config import Person


class ChatHookChannel:
    def __init__(
        self,
        name: str,
        url_of: Callable[[Person], str | None],
        timeout: timedelta = DEFAULT_TIMEOUT,
    ) -> None:
        self.name = name
        self.url_of = url_of
        self.poster = Poster(timeout)

    def reaches(self, person: Person) -> bool:
        return self.url_of(person) is not None

    async def send(self, person: Person, note: Notification) -> DeliveryResult:
        url = self.url_of(person)
        if url is None:
            return DeliveryResult.failed(f"no {self.name} webhook", retryable=False)
        reply = await self.poster.post(url, encode({"text": markdown_body(note)}))
        return reply if isinstance(reply, DeliveryResult) else reply.result()

    async def aclose(self) -> None:
        await self.poster.aclose()


def mattermost() -> ChatHookChannel:
    return ChatHookChannel("mattermost", lambda person: person.mattermost_webhook)


def rocketchat() -> ChatHookChannel:
    return ChatHookChannel("rocketchat", lambda person: person.rocketchat_webhook)
