"""Grouping keys: alerts with the same key share one open incident."""

import hashlib
import json

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
    identity: dict[str, object] = {"route": route.name}
    if route.group_by is None:
        identity["alert"] = alert.dedup_key
    else:
        identity["labels"] = group_labels(alert, route)
    canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]
