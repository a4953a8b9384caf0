"""Signed webhooks as Grafana signs them: hex HMAC-SHA256 over the body, or over
``timestamp:body`` with a timestamp header, checked against a passed-in time."""

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from multidict import CIMultiDict

from ingest.config import Integration
from ingest.signature import MAX_SKEW, BadSignature, check_signature

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SECRET = "shared-s3cret"
BODY = b'{"version": "1", "alerts": []}'
SIGNED = Integration(name="g", type="grafana", token="t", hmac_secret=SECRET)
STAMPED = SIGNED.model_copy(update={"hmac_timestamp_header": "X-Grafana-Alerting-Timestamp"})


def sign(body: bytes, timestamp: str | None = None) -> str:
    message = body if timestamp is None else f"{timestamp}:".encode() + body
    return hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()


def headers(**values: str) -> CIMultiDict[str]:
    return CIMultiDict({name.replace("_", "-"): value for name, value in values.items()})


def refusal(integration: Integration, body: bytes, sent: CIMultiDict[str]) -> str:
    with pytest.raises(BadSignature) as raised:
        check_signature(integration, body, sent, NOW)
    message = str(raised.value)
    assert SECRET not in message
    assert sign(body) not in message
    return message


def test_an_integration_without_a_secret_needs_no_signature() -> None:
    unsigned = SIGNED.model_copy(update={"hmac_secret": None})
    check_signature(unsigned, BODY, headers(), NOW)


def test_the_body_signed_in_grafanas_header_passes() -> None:
    check_signature(SIGNED, BODY, headers(X_Grafana_Alerting_Signature=sign(BODY)), NOW)


def test_header_names_are_case_insensitive_and_hex_in_any_case() -> None:
    sent = headers(x_grafana_alerting_signature=f" {sign(BODY).upper()} ")
    check_signature(SIGNED, BODY, sent, NOW)


def test_a_configured_header_name_is_used() -> None:
    custom = SIGNED.model_copy(update={"hmac_header": "X-Signature"})
    check_signature(custom, BODY, headers(X_Signature=sign(BODY)), NOW)
    assert refusal(custom, BODY, headers(X_Grafana_Alerting_Signature=sign(BODY))) == (
        "missing signature header X-Signature"
    )


@pytest.mark.parametrize(
    ("signature", "message"),
    [
        (None, "missing signature header X-Grafana-Alerting-Signature"),
        ("", "the signature in X-Grafana-Alerting-Signature does not match the body"),
        ("00" * 32, "the signature in X-Grafana-Alerting-Signature does not match the body"),
        ("sha256=" + sign(BODY), "the signature in X-Grafana-Alerting-Signature does not match"),
        ("é", "the signature in X-Grafana-Alerting-Signature does not match the body"),
    ],
)
def test_a_missing_or_wrong_signature_is_refused(signature: str | None, message: str) -> None:
    sent = headers() if signature is None else headers(X_Grafana_Alerting_Signature=signature)
    assert refusal(SIGNED, BODY, sent).startswith(message)


def test_the_signature_of_another_body_is_refused() -> None:
    sent = headers(X_Grafana_Alerting_Signature=sign(BODY + b" "))
    assert "does not match" in refusal(SIGNED, BODY, sent)


def stamped(timestamp: str, signature: str | None = None) -> CIMultiDict[str]:
    return headers(
        X_Grafana_Alerting_Timestamp=timestamp,
        X_Grafana_Alerting_Signature=signature or sign(BODY, timestamp),
    )


@pytest.mark.parametrize("age", [timedelta(0), MAX_SKEW, -MAX_SKEW, timedelta(seconds=-30)])
def test_timestamp_and_body_signed_together_pass_within_the_skew(age: timedelta) -> None:
    check_signature(STAMPED, BODY, stamped(str(int((NOW - age).timestamp()))), NOW)


@pytest.mark.parametrize(
    ("sent", "message"),
    [
        (
            headers(X_Grafana_Alerting_Signature=sign(BODY)),
            "missing timestamp header X-Grafana-Alerting-Timestamp",
        ),
        (
            stamped(str(int(NOW.timestamp()) - 301)),
            "the timestamp is more than 5 minutes from ours",
        ),
        (
            stamped(str(int(NOW.timestamp()) + 301)),
            "the timestamp is more than 5 minutes from ours",
        ),
        (stamped("yesterday"), "the timestamp is not a Unix time in seconds"),
        (stamped("-1"), "the timestamp is not a Unix time in seconds"),
        (stamped("9" * 40), "the timestamp is not a Unix time in seconds"),
        (stamped(str(int(NOW.timestamp())), sign(BODY)), "does not match the body"),
    ],
)
def test_a_timestamp_missing_old_or_unsigned_is_refused(
    sent: CIMultiDict[str], message: str
) -> None:
    assert message in refusal(STAMPED, BODY, sent)


@given(body=st.binary(max_size=256), flip=st.integers(min_value=0))
def test_a_signed_body_passes_and_any_changed_byte_fails(body: bytes, flip: int) -> None:
    signature = headers(X_Grafana_Alerting_Signature=sign(body))
    check_signature(SIGNED, body, signature, NOW)
    if body:
        index = flip % len(body)
        changed = body[:index] + bytes([body[index] ^ 1]) + body[index + 1 :]
        with pytest.raises(BadSignature):
            check_signature(SIGNED, changed, signature, NOW)
