"""The console's pure parts: signed session cookies, their CSRF tokens and sign-in links,
who a sign-in link goes to, and the ``console`` section's checks, each naming its file and
line."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifier.config import Person, SlackConfig, SmtpConfig
from schedules.yamlfile import ConfigFileError
from tests.unit.test_config import ALICE_AND_P, assert_reported, marked_line, write
from tocsin.config import load_config
from tocsin.console.link_sender import way_to
from tocsin.console.magic_links import person_named
from tocsin.console.sessions import (
    BadSession,
    Expired,
    csrf_token,
    new_session,
    sign,
    sign_link,
    verify,
    verify_link,
)

SECRET = b"console-test-secret-0123456789ab"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
people = st.text(min_size=1, max_size=40).filter(lambda s: "\0" not in s)


@given(person=people)
def test_a_signed_session_reads_back_as_itself(person: str) -> None:
    session = new_session(person, NOW, HOUR)
    again = verify(SECRET, sign(SECRET, session), NOW + HOUR - timedelta(seconds=1))
    assert again.person == person
    assert again.nonce == session.nonce
    assert again.csrf(SECRET) == session.csrf(SECRET)


@given(person=people, at=st.integers(min_value=0, max_value=200), flip=st.integers(0, 5))
def test_any_altered_character_is_refused(person: str, at: int, flip: int) -> None:
    cookie = sign(SECRET, new_session(person, NOW, HOUR))
    index = at % len(cookie)
    replacement = "ABCDEF"[flip] if cookie[index] != "ABCDEF"[flip] else "x"
    altered = cookie[:index] + replacement + cookie[index + 1 :]
    with pytest.raises((BadSession, ValueError)):
        verify(SECRET, altered, NOW)


def test_another_secret_or_an_expired_session_is_refused() -> None:
    cookie = sign(SECRET, new_session("alice", NOW, HOUR))
    with pytest.raises(BadSession, match="not a session"):
        verify(b"another-secret-0123456789abcdef0", cookie, NOW)
    with pytest.raises(BadSession, match="expired"):
        verify(SECRET, cookie, NOW + HOUR)


def test_csrf_tokens_differ_by_what_they_are_bound_to() -> None:
    first, second = new_session("alice", NOW, HOUR), new_session("alice", NOW, HOUR)
    assert first.csrf(SECRET) != second.csrf(SECRET)
    assert csrf_token(SECRET, "proxy:alice") != csrf_token(SECRET, "proxy:bob")


@pytest.mark.parametrize(
    ("section", "fragment"),
    [
        ("console:  #!\n  trusted_proxy_header: X-Forwarded-User\n", "needs trusted_proxies"),
        ("console:  #!\n  trusted_proxies: [127.0.0.1/32]\n", "needs trusted_proxy_header"),
        (
            "console:\n  trusted_proxy_header: X-User\n  trusted_proxies: [localhost]  #!\n",
            "trusted_proxies[0]: value is not a valid IPv4 or IPv6 network",
        ),
        ("console:\n  session_lifetime: forever  #!\n", "invalid duration 'forever'"),
        ("console:  #!\n  magic_link_ttl: 5m\n", "magic_link_ttl is set, but magic_links is"),
        (
            "console:  #!\n  magic_links: true\n  magic_link_ttl: 2d\n",
            "magic_link_ttl must be longer than zero and at most 1d",
        ),
        ("console:\n  magic_links: yes please  #!\n", "magic_links: Input should be a valid"),
        (
            "console:\n  magic_links: true  #!\n",
            "console.magic_links: nobody can get a sign-in link: it goes to a person's email",
        ),
    ],
)
def test_a_console_mistake_names_its_line(tmp_path: Path, section: str, fragment: str) -> None:
    text = ALICE_AND_P + "routes:\n  - policy: p\n" + section
    path = write(tmp_path, text)
    with pytest.raises(ConfigFileError) as raised:
        load_config(path)
    assert_reported(raised.value, path, marked_line(text), fragment)


def test_a_trusted_proxy_is_matched_by_network(tmp_path: Path) -> None:
    text = ALICE_AND_P + "routes:\n  - policy: p\n"
    text += "console: {trusted_proxy_header: X-User, trusted_proxies: [10.0.0.0/8, '::1/128']}\n"
    console = load_config(write(tmp_path, text)).config.console
    assert console.trusts("10.1.2.3")
    assert console.trusts("::1")
    assert not console.trusts("192.168.1.1")
    assert not console.trusts(None)


@given(person=people)
def test_a_sign_in_link_reads_back_as_its_person_until_it_expires(person: str) -> None:
    link = new_session(person, NOW, HOUR)
    token = sign_link(SECRET, link)
    assert verify_link(SECRET, token, NOW + HOUR - timedelta(seconds=1)) == link
    with pytest.raises(Expired):
        verify_link(SECRET, token, NOW + HOUR)


@given(person=people, at=st.integers(min_value=0, max_value=200), flip=st.integers(0, 5))
def test_an_altered_sign_in_link_is_refused_as_not_valid(person: str, at: int, flip: int) -> None:
    token = sign_link(SECRET, new_session(person, NOW, HOUR))
    index = at % len(token)
    replacement = "ABCDEF"[flip] if token[index] != "ABCDEF"[flip] else "é"
    with pytest.raises(BadSession) as refused:
        verify_link(SECRET, token[:index] + replacement + token[index + 1 :], NOW)
    assert not isinstance(refused.value, Expired)


def test_a_session_and_a_sign_in_link_cannot_pass_for_each_other() -> None:
    claims = new_session("alice", NOW, HOUR)
    with pytest.raises(BadSession):
        verify_link(SECRET, sign(SECRET, claims), NOW)
    with pytest.raises(BadSession):
        verify(SECRET, sign_link(SECRET, claims), NOW)


SMTP = SmtpConfig.model_validate({"host": "127.0.0.1", "from": "tocsin@example.com"})
SLACK = SlackConfig.model_validate({"bot_token": "xoxb-test"})


@pytest.mark.parametrize(
    ("fields", "smtp", "slack", "way"),
    [
        (
            {"email": "a@example.com", "slack_user": "U1", "webhook": "https://h/"},
            SMTP,
            SLACK,
            "email",
        ),
        ({"email": "a@example.com", "slack_user": "U1"}, None, SLACK, "slack"),
        ({"email": "a@example.com", "webhook": "https://h/"}, None, None, "webhook"),
        ({"slack_user": "U1"}, SMTP, None, None),
        ({"slack_channel": "C1", "mattermost_webhook": "https://h/"}, SMTP, SLACK, None),
        ({"slack_webhook": "https://h/"}, SMTP, SLACK, None),
        (
            {"console": True, "teams_webhook": "https://h/", "phone": "+4915112345678"},
            SMTP,
            SLACK,
            None,
        ),
    ],
)
def test_a_sign_in_link_goes_only_where_the_person_alone_reads_it(
    fields: dict[str, object],
    smtp: SmtpConfig | None,
    slack: SlackConfig | None,
    way: str | None,
) -> None:
    assert way_to(Person.model_validate({"name": "A", **fields}), smtp, slack) == way


def test_a_person_is_named_by_id_or_by_an_email_address_only_they_have() -> None:
    team = {
        "alice": Person(name="Alice", email="Alice@Example.com"),
        "bob": Person(name="Bob", email="ops@example.com"),
        "carol": Person(name="Carol", email="ops@example.com"),
        "dave": Person(name="Dave", console=True),
    }
    assert person_named(team, "alice") == "alice"
    assert person_named(team, "alice@example.COM") == "alice"
    assert person_named(team, "ops@example.com") is None
    assert person_named(team, "mallory") is None
    assert person_named(team, "") is None
