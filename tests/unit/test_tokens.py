"""API tokens and who may do what, without a store: the token's shape, scopes, and the
scope each request needs."""

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin.api_auth import Access, ApiAuthConfig, needed_scope
from tocsin.tokens import TOKEN_BYTES, TOKEN_PREFIX, Scope, check_name, digest, new_token

READ, WRITE = Scope.READ, Scope.WRITE
OPEN = ApiAuthConfig()
LOCKED = ApiAuthConfig(silences=Access.TOKEN, metrics=Access.TOKEN)


def test_a_token_is_prefixed_and_holds_32_random_bytes() -> None:
    tokens = {new_token() for _ in range(1000)}

    assert len(tokens) == 1000
    for token in tokens:
        assert token.startswith(TOKEN_PREFIX)
        body = token.removeprefix(TOKEN_PREFIX)
        assert len(base64.urlsafe_b64decode(body + "=")) == TOKEN_BYTES == 32


def test_only_the_hash_is_kept_and_it_is_sha256() -> None:
    token = new_token()
    assert digest(token) == digest(token)
    assert len(digest(token)) == 64
    assert token not in digest(token)


@pytest.mark.parametrize(
    ("has", "needs", "allowed"),
    [(READ, READ, True), (READ, WRITE, False), (WRITE, READ, True), (WRITE, WRITE, True)],
)
def test_write_implies_read(has: Scope, needs: Scope, allowed: bool) -> None:
    assert has.allows(needs) is allowed


@pytest.mark.parametrize("name", ["ci-bot", "grafana.prod", "a", "X_1", "a" * 64])
def test_token_names(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize("name", ["", "-bot", "has space", "a" * 65, "tok:en", "ü"])
def test_bad_token_names_say_what_is_allowed(name: str) -> None:
    with pytest.raises(ValueError, match="letters, digits"):
        check_name(name)


NEEDS = [
    ("GET", "/api/v1/incidents", OPEN, READ),
    ("HEAD", "/api/v1/incidents", OPEN, READ),
    ("GET", "/api/v1/incidents/7", OPEN, READ),
    ("POST", "/api/v1/explain", OPEN, READ),
    ("POST", "/api/v1/incidents/7/resolve", OPEN, WRITE),
    ("POST", "/api/v1/incidents/7/acknowledge", OPEN, WRITE),
    ("DELETE", "/api/v1/incidents", OPEN, WRITE),
    ("GET", "/api/v1/nothing", OPEN, READ),
    ("GET", "/api/v2/silences", OPEN, None),
    ("POST", "/api/v2/silences", OPEN, None),
    ("GET", "/api/v2/silences", LOCKED, READ),
    ("POST", "/api/v2/silences", LOCKED, WRITE),
    ("DELETE", "/api/v2/silence/abc", LOCKED, WRITE),
    ("GET", "/metrics", OPEN, None),
    ("GET", "/metrics", LOCKED, READ),
    ("GET", "/healthz", LOCKED, None),
    ("GET", "/readyz", LOCKED, None),
    ("GET", "/ack/v1.abc", LOCKED, None),
    ("POST", "/ack/v1.abc", LOCKED, None),
    ("POST", "/v1/webhooks/alertmanager/s3cret", LOCKED, None),
]


@pytest.mark.parametrize(("method", "path", "config", "scope"), NEEDS)
def test_the_scope_each_request_needs(
    method: str, path: str, config: ApiAuthConfig, scope: Scope | None
) -> None:
    assert needed_scope(method, path, config) is scope


@given(
    method=st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]),
    rest=st.text(),
)
def test_nothing_under_api_v1_is_open(method: str, rest: str) -> None:
    assert needed_scope(method, "/api/v1/" + rest, OPEN) is not None
    # Only reads are read: any other method needs the write scope.
    if method not in ("GET", "HEAD") and rest != "explain":
        assert needed_scope(method, "/api/v1/" + rest, OPEN) is WRITE
