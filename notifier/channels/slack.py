"""Slack, by a person's incoming webhook or by the bot of the ``slack`` section
(``chat.postMessage`` to a member or a channel), with the same Block Kit message.

The Web API answers 200 even when it refuses: ``{"ok": false, "error": "channel_not_found"}``.
Only errors that are about Slack's state rather than ours are worth another try.
"""

import json
from dataclasses import replace
from typing import Any

from notifier.channels import DeliveryResult, Notification
from notifier.channels.blockkit import message
from notifier.channels.posting import DEFAULT_TIMEOUT, Poster, Reply, encode
from notifier.config import Person, SlackConfig

RETRYABLE_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
"""``ok: false`` errors that may pass later; the others (``channel_not_found``,
``invalid_auth``, ``not_in_channel``, ...) need someone to change the app or the config."""

_DETAIL_LIMIT = 200


class SlackChannel:
    name = "slack"

    def __init__(self, bot: SlackConfig | None = None) -> None:
        self.bot = bot
        self.poster = Poster(bot.timeout if bot is not None else DEFAULT_TIMEOUT)

    def reaches(self, person: Person) -> bool:
        return person.slack_webhook is not None or (
            self.bot is not None and person.slack_target is not None
        )

    async def send(self, person: Person, note: Notification) -> DeliveryResult:
        body = message(note)
        if person.slack_webhook is not None:
            reply = await self.poster.post(person.slack_webhook, encode(body))
            return reply if isinstance(reply, DeliveryResult) else webhook_result(reply)
        if person.slack_target is None:
            return DeliveryResult.failed("no Slack destination", retryable=False)
        return await self.post_as_bot(person.slack_target, body)

    async def post_as_bot(self, target: str, body: dict[str, Any]) -> DeliveryResult:
        """``chat.postMessage`` of ``body`` to a member or a channel id: a page's message, or
        another of Tocsin's (a console sign-in link, to a member only)."""
        if self.bot is None:
            return DeliveryResult.failed("no Slack destination", retryable=False)
        token = self.bot.bot_token.get_secret_value()
        reply = await self.poster.post(
            f"{self.bot.api_url.rstrip('/')}/chat.postMessage",
            encode({**body, "channel": target}),
            {"Authorization": f"Bearer {token}"},
        )
        return reply if isinstance(reply, DeliveryResult) else api_result(reply)

    async def aclose(self) -> None:
        await self.poster.aclose()


def webhook_result(reply: Reply) -> DeliveryResult:
    """An incoming webhook says what went wrong in a short text body (``channel_is_archived``)."""
    result = reply.result()
    if result.ok or not reply.text:
        return result
    return replace(result, detail=f"{result.detail}: {reply.text[:_DETAIL_LIMIT]}")


def api_result(reply: Reply) -> DeliveryResult:
    if reply.status != 200:
        return webhook_result(reply)
    try:
        answer = json.loads(reply.text)
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or not isinstance(answer.get("ok"), bool):
        # Not Slack: api_url points at something else, which another try will not change.
        return DeliveryResult.failed(f"{reply.detail}: not a Slack API answer", retryable=False)
    if answer["ok"]:
        return DeliveryResult.delivered(f"{reply.detail}: posted at ts {answer.get('ts')}")
    error = str(answer.get("error", "unknown error"))[:_DETAIL_LIMIT]
    return DeliveryResult.failed(f"Slack refused: {error}", retryable=error in RETRYABLE_ERRORS)
