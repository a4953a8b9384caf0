"""Redis keys owned by the schedules side. Others read and write them only through
``schedules.override_store``."""

PREFIX = "tocsin:schedules:"


def overrides(schedule: str) -> str:
    """Sorted set of the schedule's stored overrides (``StoredOverride`` JSON), scored by
    their end in ms: what still matters at an instant is one range read from it."""
    return f"{PREFIX}overrides:{schedule}"
