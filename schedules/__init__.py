"""People, rotation schedules and the pure on-call resolver."""
