"""What every role of a process shares: settings, the loaded configuration, one Redis
client, one metrics registry, the clock, the link-signing key, and whether it is draining."""

import asyncio
import os
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime

from arq.connections import ArqRedis
from prometheus_client import CollectorRegistry

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
    redis: ArqRedis
    """Every role's one client (arq's timers included)."""
    secret: bytes
    clock: Clock = system_clock
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    consumer: str = field(default_factory=consumer_name)
    draining: asyncio.Event = field(default_factory=asyncio.Event)
    """Set on SIGTERM: take no new work, say not ready, finish what is in flight."""
