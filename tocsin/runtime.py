"""What every role of a process shares: settings, the loaded configuration, one Redis
client, one metrics registry, the clock and the link-signing key."""

import os
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from ingest.clock import Clock
from tocsin.config import LoadedConfig
from tocsin.settings import Settings


def system_clock() -> datetime:
    return datetime.now(UTC)


def consumer_name() -> str:
    """Unique per process, so each copy of a role is its own stream consumer."""
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass
class Runtime:
    settings: Settings
    loaded: LoadedConfig
    redis: Redis
    secret: bytes
    redis_url: str
    clock: Clock = system_clock
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    consumer: str = field(default_factory=consumer_name)
