"""Heartbeat integrations in ``tocsin.yaml``: what loads, and every mistake reported as
``file:line: message`` at the line to change (marked ``#!``)."""

from datetime import timedelta
from pathlib import Path

import pytest

from ingest.config import Watchdog
from schedules.yamlfile import ConfigFileError
from tests.unit.test_config import ALICE_AND_P, assert_reported, marked_line, write
from tests.unit.test_readme_config import yaml_block_after
from tocsin.config import load_config

REST = ALICE_AND_P + "routes:\n  - {policy: p}\n"


def test_heartbeats_load(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
integrations:
  - {name: prod-am, type: alertmanager, token: s3cret}
  - {name: backup, type: heartbeat, token: hb1, interval: 1d, grace: 1h}
  - name: prod-am-watchdog
    type: heartbeat
    token: hb2
    interval: 5m
    watchdog: {integration: prod-am}
"""
        + REST,
    )

    _, backup, watched = load_config(path).config.integrations
    assert (backup.interval, backup.grace) == (timedelta(days=1), timedelta(hours=1))
    assert watched.watchdog == Watchdog(integration="prod-am", alertname="Watchdog")


@pytest.mark.parametrize(
    ("integrations", "fragment"),
    [
        (
            """\
  - name: backup
    type: heartbeat
    token: hb1
    interval: 5x  #!
""",
            "integrations[0].interval: invalid duration '5x'",
        ),
        (
            """\
  - name: backup
    type: heartbeat
    token: hb1
    interval: 0m  #!
""",
            "integrations[0].interval: invalid duration '0m'",
        ),
        (
            """\
  - {name: backup, type: heartbeat, token: hb1}  #!
""",
            "integrations[0]: a heartbeat needs an interval, for example interval: 5m",
        ),
        (
            """\
  - {name: cron, type: generic, token: t, interval: 5m}  #!
""",
            "integrations[0]: interval: only for integrations of type heartbeat",
        ),
        (
            """\
  - name: w
    type: heartbeat
    token: hb1
    interval: 5m
    watchdog:
      integration: prod-am  #!
""",
            "integrations[0].watchdog.integration: unknown integration 'prod-am': "
            "name one that sends alerts (not a heartbeat)",
        ),
        (
            """\
  - name: w
    type: heartbeat
    token: hb1
    interval: 5m
    watchdog: {integration: prod-am, labels: {}}  #!
""",
            "integrations[0].watchdog.labels: unknown field",
        ),
        (
            """\
  - {name: b, type: heartbeat, token: h, interval: 5m, rate_limit: {per_second: 1, burst: 1}}  #!
""",
            "integrations[0]: rate_limit: only for integrations that send alerts",
        ),
        (
            """\
  - {name: a, type: heartbeat, token: same, interval: 5m}
  - {name: b, type: alertmanager, token: same}  #!
""",
            "integrations[1].token: the same token as integrations[0]",
        ),
    ],
    ids=[
        "bad interval",
        "zero interval",
        "no interval",
        "interval of a webhook",
        "watchdog of an unknown integration",
        "unknown watchdog field",
        "a rate limit on a heartbeat",
        "a token shared with a webhook",
    ],
)
def test_a_broken_heartbeat_is_reported_at_its_line(
    tmp_path: Path, integrations: str, fragment: str
) -> None:
    text = "integrations:\n" + integrations + REST
    path = write(tmp_path, text)

    with pytest.raises(ConfigFileError) as raised:
        load_config(path)

    assert_reported(raised.value, path, marked_line(text), fragment)
    assert len(raised.value.problems) == 1, str(raised.value)


def test_the_readme_heartbeats_load(tmp_path: Path) -> None:
    path = write(tmp_path, yaml_block_after("## Heartbeats") + REST)

    names = [i.name for i in load_config(path).config.integrations if i.type == "heartbeat"]
    assert names == ["nightly-backup", "prod-am-watchdog"]
