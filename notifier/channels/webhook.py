"""A JSON POST to the person's webhook URL: the ``Notification`` fields plus a ``text`` line,
which chat tools with incoming webhooks (Slack, Mattermost) show as the message."""

from datetime import timedelta
from typing import Any

import aiohttp

from notifier.channels import DeliveryResult, Notification
from notifier.channels.render import headline
from notifier.config import Person

_RETRYABLE_STATUSES = frozenset({408, 425, 429})
"""4xx replies that mean "not now" rather than "never"."""


class WebhookChannel:
    name = "webhook"

    def __init__(self, timeout: timedelta = timedelta(seconds=10)) -> None:
        self.timeout = aiohttp.ClientTimeout(total=timeout.total_seconds())
        self._session: aiohttp.ClientSession | None = None

    def reaches(self, person: Person) -> bool:
        return person.webhook is not None

    async def send(self, person: Person, note: Notification) -> DeliveryResult:
        if person.webhook is None:
            return DeliveryResult.failed("no webhook URL", retryable=False)
        try:
            # Redirects are not followed: clients turn a redirected POST into a GET, which
            # would "succeed" without delivering anything.
            async with self._client().post(
                person.webhook, json=payload(note), allow_redirects=False
            ) as response:
                status = response.status
                reason = response.reason or ""
        except aiohttp.InvalidURL as exc:
            return DeliveryResult.failed(f"invalid URL: {exc}", retryable=False)
        except (TimeoutError, aiohttp.ClientError) as exc:
            return DeliveryResult.failed(f"{type(exc).__name__}: {exc}", retryable=True)
        detail = f"HTTP {status} {reason}".rstrip()
        if 200 <= status < 300:
            return DeliveryResult.delivered(detail)
        return DeliveryResult.failed(
            detail, retryable=status >= 500 or status in _RETRYABLE_STATUSES
        )

    def _client(self) -> aiohttp.ClientSession:
        # Created on first use: a session must be made inside the running event loop.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self.timeout, headers={"User-Agent": "tocsin"}
            )
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def payload(note: Notification) -> dict[str, Any]:
    body = note.model_dump(mode="json")
    body["text"] = f"{headline(note)}\n{note.ack_url}" if note.ack_url else headline(note)
    return body
