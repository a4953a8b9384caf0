"""Personal notification rules in the configuration: the README's example loads, each mistake
is reported at its line, and what a rule sends at once and later."""

from datetime import timedelta
from pathlib import Path

import pytest

from notifier.rules import RuleStep, due_now, for_notices, later, urgency
from router.config import Severity
from schedules.yamlfile import ConfigFileError
from tests.unit.test_config import Broken, assert_reported, marked_line, write
from tests.unit.test_readme_config import yaml_block_after
from tocsin.config import load_config

HEAD = """\
smtp: {host: 127.0.0.1, from: tocsin@example.com}
slack: {bot_token: xoxb-1}
twilio: {account_sid: AC0123456789abcdef0123456789abcdef, auth_token: t, from: "+15550001111"}
"""
TAIL = """\
escalation_policies:
  p: {levels: [{targets: [person:alice], ack_timeout: 5m}]}
routes:
  - {policy: p}
"""


def test_the_readme_rules_example_loads(tmp_path: Path) -> None:
    example = yaml_block_after("**Notification rules**")

    alice = load_config(write(tmp_path, HEAD + example + TAIL)).config.people["alice"]

    assert alice.rules is not None
    high = alice.rules.steps(Severity.SEV1)
    assert high is not None
    assert [(s.after, s.notify) for s in high] == [
        (timedelta(0), ["slack", "email"]),
        (timedelta(minutes=3), ["sms"]),
        (timedelta(minutes=6), ["voice"]),
    ]
    assert alice.rules.steps(Severity.SEV3) == alice.rules.low
    assert due_now(high) == {"slack", "email"}
    assert [i for i, _ in later(high)] == [1, 2]


def test_a_notice_goes_by_the_first_step_naming_a_channel_that_carries_it() -> None:
    def step(minutes: int, *notify: str) -> RuleStep:
        return RuleStep.model_validate({"after": timedelta(minutes=minutes), "notify": notify})

    chat_then_sms = [step(0, "slack", "email"), step(3, "sms")]
    call_then_sms = [step(0, "voice"), step(2, "sms", "voice")]
    a_minute_late = [step(1, "sms"), step(5, "voice")]
    every = {"slack", "email", "sms"}  # a call carries no notices

    assert for_notices(chat_then_sms, every) == {"slack", "email"}
    assert for_notices(call_then_sms, every) == {"sms"}
    assert for_notices(a_minute_late, every) == {"sms"}
    assert for_notices([step(0, "voice")], every) is None


def test_urgency_by_severity() -> None:
    assert [urgency(s) for s in Severity] == ["high", "high", "low", "low"]


def test_a_rule_may_leave_its_first_step_for_later() -> None:
    steps = [RuleStep(after="1m", notify=["email"])]  # type: ignore[arg-type]
    assert due_now(steps) == frozenset()
    assert later(steps) == [(0, steps[0])]


BROKEN = {
    "a channel Tocsin does not know": Broken(
        """\
people:
  alice:
    name: Alice
    email: alice@example.com
    rules:
      high:
        - {after: 0m, notify: [email, pager]}  #!
""",
        "people.alice.rules.high[0].notify[1]: Input should be 'email', 'webhook'",
    ),
    "a channel the person has no method for": Broken(
        """\
people:
  alice:
    name: Alice
    email: alice@example.com
    rules:
      low:
        - after: 0m
          notify:
            - email
            - teams  #!
""",
        "people.alice.rules.low[0].notify[1]: teams: the person has no contact method for it",
    ),
    "a call to a phone only for SMS": Broken(
        """\
people:
  alice:
    name: Alice
    phone: "+4915112345678"
    rules:
      high:
        - after: 0m
          notify: [voice]  #!
""",
        "people.alice.rules.high[0].notify[0]: voice: the person has no phone with voice",
    ),
    "steps out of order": Broken(
        """\
people:
  alice:
    name: Alice
    email: alice@example.com
    phone: "+4915112345678"
    rules:
      high:
        - {after: 5m, notify: [email]}
        - {after: 3m, notify: [sms]}  #!
""",
        "people.alice.rules.high[1].after: 3m is not later than the step before (5m)",
    ),
    "two steps at one time": Broken(
        """\
people:
  alice:
    name: Alice
    email: alice@example.com
    phone: "+4915112345678"
    rules:
      high:
        - {after: 0m, notify: [email]}
        - {after: 0s, notify: [sms]}  #!
""",
        "people.alice.rules.high[1].after: 0m is not later than the step before (0m)",
    ),
    "a negative wait": Broken(
        """\
people:
  alice:
    name: Alice
    email: alice@example.com
    rules:
      high:
        - {after: -1m, notify: [email]}  #!
""",
        "people.alice.rules.high[0].after: ",
    ),
    "an urgency Tocsin does not know": Broken(
        """\
people:
  alice:
    name: Alice
    email: alice@example.com
    rules:
      urgent:  #!
        - {after: 0m, notify: [email]}
""",
        "people.alice.rules.urgent: unknown field",
    ),
}


@pytest.mark.parametrize("case", BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_rule_names_file_line_and_problem(tmp_path: Path, case: Broken) -> None:
    path = write(tmp_path, HEAD + case.text + TAIL)

    with pytest.raises(ConfigFileError) as raised:
        load_config(path)

    assert_reported(raised.value, path, marked_line(HEAD + case.text), case.fragment)
    assert len(raised.value.problems) == 1, str(raised.value)
