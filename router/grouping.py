"""Grouping keys: alerts with the same key share one open incident."""

import hashlib
import json
from functools import lru_cache

from ingest.models import Alert
from router.config import ResolvedRoute
from router.matching import rule_labels


def group_labels(alert: Alert, route: ResolvedRoute) -> dict[str, str]:
    """The label values that define the group (missing labels count as empty)."""
    labels = rule_labels(alert)
    return {name: labels.get(name, "") for name in route.group_by or ()}


def group_key(alert: Alert, route: ResolvedRoute) -> str:
    """Stable across processes and restarts: a hash of the route and its group's values.

    Without ``group_by`` each distinct alert is its own group, so unrelated problems are
    never folded into one page.
    """
    if route.group_by is None:
        return _hashed(route.name, alert.dedup_key, None)
    return _hashed(route.name, None, tuple(group_labels(alert, route).items()))


@lru_cache(maxsize=10_000)
def _hashed(route: str, alert: str | None, labels: tuple[tuple[str, str], ...] | None) -> str:
    """Cached: the same groups come again and again (every repeat of an alert)."""
    identity: dict[str, object] = {"route": route}
    if labels is None:
        identity["alert"] = alert
    else:
        identity["labels"] = dict(labels)
    canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def storm_group_key(route: ResolvedRoute) -> str:
    """The group of the route's storm incident: no hash of labels looks like it, so it never
    meets an ordinary group."""
    return f"storm:{route.name}"


def group_name(alert: Alert, route: ResolvedRoute) -> str:
    """How a storm incident lists a group it took in: ``host=a``; the alert's summary when
    the route groups each alert alone (its group has no labels to show)."""
    labels = group_labels(alert, route)
    if not labels:
        return alert.summary
    return " ".join(f"{name}={value}" for name, value in sorted(labels.items()))
