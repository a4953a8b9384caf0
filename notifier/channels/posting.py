"""JSON over HTTP POST, as every chat and webhook channel sends it, and what an answer means.

What each channel adds is its body and, for APIs that answer 200 with an error inside, its own
reading of the answer; timeouts, transport errors and status codes are read the same way for
all of them here.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp

from notifier.backoff import parse_retry_after
from notifier.channels import DeliveryResult

DEFAULT_TIMEOUT = timedelta(seconds=10)
"""Within a paging run's hold on a delivery (see ``notifier.config.MAX_SEND_TIMEOUT``)."""

_RETRYABLE_STATUSES = frozenset({408, 425, 429})
"""4xx replies that mean "not now" rather than "never"."""

_MAX_ANSWER = 64 * 1024
"""Enough of an answer to read an API's error, never a whole page someone serves instead."""


@dataclass(frozen=True)
class Reply:
    status: int
    reason: str
    text: str
    retry_after: str | None

    @property
    def detail(self) -> str:
        detail = f"HTTP {self.status} {self.reason}".rstrip()
        if self.retry_after is not None:
            seconds = "s" if self.retry_after.strip().isdigit() else ""
            detail += f", retry after {self.retry_after.strip()}{seconds}"
        return detail

    def result(self) -> DeliveryResult:
        """By the status alone: 2xx delivered; 5xx and "not now" 4xx worth another try."""
        if 200 <= self.status < 300:
            return DeliveryResult.delivered(self.detail)
        retryable = self.status >= 500 or self.status in _RETRYABLE_STATUSES
        return DeliveryResult.failed(
            self.detail, retryable=retryable, retry_after=parse_retry_after(self.retry_after)
        )


def encode(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


async def _head(body: aiohttp.StreamReader) -> bytes:
    """Up to ``_MAX_ANSWER`` bytes of a body (one ``read(n)`` may return only its first
    chunk, and half an answer would not parse)."""
    head = b""
    while len(head) < _MAX_ANSWER:
        chunk = await body.read(_MAX_ANSWER - len(head))
        if not chunk:
            break
        head += chunk
    return head


class Poster:
    """One HTTP session per channel, made on first use (inside the running event loop)."""

    def __init__(self, timeout: timedelta = DEFAULT_TIMEOUT) -> None:
        self.timeout = aiohttp.ClientTimeout(total=timeout.total_seconds())
        self._session: aiohttp.ClientSession | None = None

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str] | None = None
    ) -> Reply | DeliveryResult:
        """The answer, or the failure when there is none."""
        try:
            # Redirects are not followed: clients turn a redirected POST into a GET, which
            # would "succeed" without delivering anything.
            async with self._client().post(
                url,
                data=body,
                headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
                allow_redirects=False,
            ) as response:
                return Reply(
                    status=response.status,
                    reason=response.reason or "",
                    text=(await _head(response.content)).decode("utf-8", "replace"),
                    retry_after=response.headers.get("Retry-After"),
                )
        except (aiohttp.InvalidURL, ValueError):
            # ValueError: aiohttp refuses some URLs (no host, bad port) before any request.
            # The URL itself is not repeated: a chat hook's URL is its credential.
            return DeliveryResult.failed("invalid URL", retryable=False)
        except (TimeoutError, aiohttp.ClientError) as exc:
            return DeliveryResult.failed(f"{type(exc).__name__}: {exc}", retryable=True)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self.timeout, headers={"User-Agent": "tocsin"}
            )
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
