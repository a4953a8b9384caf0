"""The chat channels' configuration: people's chat keys, the ``slack`` section, secrets from
``env:NAME``, each problem reported at its line."""

from pathlib import Path

import pytest

from schedules.yamlfile import ConfigFileError
from tests.unit.test_config import Broken, assert_reported, marked_line, write
from tests.unit.test_readme_config import yaml_block_after
from tocsin.config import load_config

UNSET = "TOCSIN_TEST_SURELY_UNSET"

TAIL = """\
escalation_policies:
  p: {levels: [{targets: [person:alice], ack_timeout: 5m}]}
routes:
  - {policy: p}
"""

CHANNELS = (
    """\
slack: {bot_token: env:TOCSIN_TEST_SLACK_TOKEN, api_url: "http://127.0.0.1:9/api"}
webhook_secret: env:TOCSIN_TEST_HOOK_SECRET
people:
  alice:
    name: Alice
    slack_user: U012AB3CD
    teams_webhook: https://prod-00.westeurope.logic.azure.com/workflows/x
    mattermost_webhook: https://mattermost.example/hooks/x
    rocketchat_webhook: https://chat.example/hooks/x/y
    apprise: ["json://127.0.0.1:9/hook", "tgram://123456789:abcdefg_hijklmnop/12315544"]
    webhook: https://ops.example/tocsin
    webhook_secret: inline-secret
  bob: {name: Bob, slack_webhook: "https://hooks.slack.com/services/T0/B0/x"}
"""
    + TAIL
)


def test_every_chat_key_loads_and_secrets_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOCSIN_TEST_SLACK_TOKEN", "xoxb-from-env")
    monkeypatch.setenv("TOCSIN_TEST_HOOK_SECRET", "hook-secret-from-env")

    config = load_config(write(tmp_path, CHANNELS)).config

    assert config.slack is not None
    assert config.slack.bot_token.get_secret_value() == "xoxb-from-env"
    assert config.slack.api_url == "http://127.0.0.1:9/api"
    assert config.webhook_secret is not None
    assert config.webhook_secret.get_secret_value() == "hook-secret-from-env"
    alice = config.people["alice"]
    assert alice.slack_target == "U012AB3CD"
    assert alice.webhook_secret is not None
    assert alice.webhook_secret.get_secret_value() == "inline-secret"
    assert alice.apprise is not None
    assert len(alice.apprise) == 2
    shown = repr(config)
    for secret in ("xoxb-from-env", "hook-secret-from-env", "inline-secret", "abcdefg", "B0/x"):
        assert secret not in shown


BROKEN = {
    "an unset environment variable": Broken(
        f"""\
slack:
  bot_token: env:{UNSET}  #!
people:
  alice: {{name: Alice, slack_user: U1}}
"""
        + TAIL,
        f"slack.bot_token: the environment variable {UNSET} is not set, or empty",
    ),
    "env: without a variable name": Broken(
        """\
webhook_secret: "env:"  #!
people:
  alice: {name: Alice}
"""
        + TAIL,
        "webhook_secret: 'env:': after env: comes an environment variable's name",
    ),
    "a Slack member without a slack section": Broken(
        """\
people:
  alice:
    name: Alice
    slack_user: U012AB3CD  #!
"""
        + TAIL,
        "people.alice.slack_user: slack_user needs a slack section (bot_token)",
    ),
    "two Slack destinations": Broken(
        """\
people:
  alice:  #!
    name: Alice
    slack_webhook: https://hooks.slack.com/services/T/B/x
    slack_channel: C012AB3CD
"""
        + TAIL,
        "people.alice: slack_webhook and slack_channel: give one Slack destination per person",
    ),
    "a Slack id that is not one": Broken(
        """\
people:
  alice:
    name: Alice
    slack_channel: "#ops"  #!
slack: {bot_token: xoxb-1}
"""
        + TAIL,
        "people.alice.slack_channel: String should match pattern",
    ),
    "an Apprise URL Apprise cannot use": Broken(
        """\
people:
  alice:
    name: Alice
    apprise:
      - json://127.0.0.1:9/x
      - nosuchservice://tok3n@host  #!
"""
        + TAIL,
        "people.alice.apprise[1]: Apprise cannot use this URL (scheme 'nosuchservice')",
    ),
    "a webhook secret without a webhook": Broken(
        """\
people:
  alice:  #!
    name: Alice
    webhook_secret: s3cret
"""
        + TAIL,
        "people.alice: webhook_secret signs the webhook, but there is no webhook",
    ),
    "a Teams webhook that is not a URL": Broken(
        """\
people:
  alice:
    name: Alice
    teams_webhook: prod-00.westeurope.logic.azure.com/workflows/x  #!
"""
        + TAIL,
        "people.alice.teams_webhook: String should match pattern",
    ),
    "a Slack timeout longer than a page may wait": Broken(
        """\
slack: {bot_token: xoxb-1, timeout: 1m}  #!
people:
  alice: {name: Alice, slack_user: U1}
"""
        + TAIL,
        "slack.timeout: at most 15s",
    ),
}


@pytest.mark.parametrize("case", BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_channel_setting_names_file_line_and_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: Broken
) -> None:
    monkeypatch.delenv(UNSET, raising=False)
    path = write(tmp_path, case.text)

    with pytest.raises(ConfigFileError) as raised:
        load_config(path)

    assert_reported(raised.value, path, marked_line(case.text), case.fragment)
    assert len(raised.value.problems) == 1, str(raised.value)


def test_an_apprise_problem_never_shows_the_url(tmp_path: Path) -> None:
    path = write(tmp_path, BROKEN["an Apprise URL Apprise cannot use"].text)

    with pytest.raises(ConfigFileError) as raised:
        load_config(path)

    assert "tok3n" not in str(raised.value)


def test_the_readme_channels_example_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SLACK_BOT_TOKEN", "TOCSIN_WEBHOOK_SECRET", "CAROL_HOOK_SECRET"):
        monkeypatch.setenv(name, f"value-of-{name}")
    example = yaml_block_after("**Channels.**")

    people = load_config(write(tmp_path, example + TAIL)).config.people

    assert set(people) == {"alice", "bob", "carol"}
    assert people["bob"].slack_target == "U012AB3CD"
