"""Signed webhooks: a hex HMAC-SHA256 of the body, made with a secret shared with the
sender, as Grafana's webhook contact point makes it (grafana/alerting ``http/hmac.go``):
over the body alone, or over ``TIMESTAMP:BODY`` when the sender also puts a Unix time in a
timestamp header. Pure: the time is passed in.

With a timestamp header configured, a request without it, or with a time further than
``MAX_SKEW`` from ours, is refused: a captured request cannot be replayed later.
"""

import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from ingest.config import Integration

MAX_SKEW = timedelta(minutes=5)


class BadSignature(Exception):
    """The request is not signed as the integration requires; the message says how, and
    never holds the secret or the expected signature."""


def check_signature(
    integration: Integration, body: bytes, headers: Mapping[str, str], now: datetime
) -> None:
    """Raise ``BadSignature`` unless ``body`` carries the signature ``integration``
    requires; an integration without ``hmac_secret`` requires none. ``headers`` must look
    names up case-insensitively, as aiohttp's do."""
    if integration.hmac_secret is None:
        return
    signed = body
    if integration.hmac_timestamp_header is not None:
        stamp = headers.get(integration.hmac_timestamp_header)
        if stamp is None:
            raise BadSignature(f"missing timestamp header {integration.hmac_timestamp_header}")
        _check_recent(stamp.strip(), now)
        signed = stamp.strip().encode("ascii") + b":" + body
    presented = headers.get(integration.hmac_header)
    if presented is None:
        raise BadSignature(f"missing signature header {integration.hmac_header}")
    key = integration.hmac_secret.encode("utf-8")
    expected = hmac.new(key, signed, hashlib.sha256).hexdigest()
    # Lowercase, as Go's hex encoder writes it; compare_digest takes str only when ASCII.
    given = presented.strip().lower().encode("utf-8", "surrogateescape")
    if not hmac.compare_digest(expected.encode("ascii"), given):
        raise BadSignature(f"the signature in {integration.hmac_header} does not match the body")


def _check_recent(stamp: str, now: datetime) -> None:
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
        raise BadSignature("the timestamp is not a Unix time in seconds")
    sent = datetime.fromtimestamp(int(stamp), UTC)
    if abs(now - sent) > MAX_SKEW:
        raise BadSignature(
            f"the timestamp is more than {int(MAX_SKEW.total_seconds() // 60)} minutes from "
            "ours: a replay, or a clock that is off"
        )
