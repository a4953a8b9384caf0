"""Every metric the Grafana dashboard and Tocsin's own alerting rules name is one a running
Tocsin (all roles in one process, on the real Valkey) registers: a renamed metric breaks
this test, not a dashboard in production."""

import re
from pathlib import Path

from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from tests.e2e.conftest import free_port
from tests.integration.test_service import runtime_on
from tests.unit.test_deploy_monitoring import dashboard_queries, rule_queries
from tocsin.service import Role, running

METRIC = re.compile(r"\btocsin_[a-z_]+")
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "gauge": ("",),
}


def series_names(registry: CollectorRegistry) -> set[str]:
    """What each metric is exported as, whether or not it has a value yet."""
    return {
        family.name + suffix
        for family in registry.collect()
        for suffix in SUFFIXES.get(family.type, ("",))
    }


async def test_every_metric_the_dashboard_and_rules_name_exists(
    tmp_path: Path, redis: Redis, valkey_url: str
) -> None:
    runtime = runtime_on(tmp_path, redis, valkey_url, free_port())
    async with running(runtime, list(Role)):
        exported = series_names(runtime.registry)

    queries = dashboard_queries() + rule_queries()
    named = {name for query in queries for name in METRIC.findall(query)}
    assert {"tocsin_stream_lag_seconds", "tocsin_dead_letters_total"} <= named
    assert named - exported == set()
