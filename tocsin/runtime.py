"""What every role of a process shares: settings, the configuration (reloaded as it is
edited), one Redis client, one metrics registry, the clock, the link-signing key, and whether
it is draining."""

import asyncio
import socket
import ssl
from dataclasses import InitVar, dataclass, field
from datetime import UTC, datetime

from arq.connections import ArqRedis
from prometheus_client import CollectorRegistry

from ingest.clock import Clock
from tocsin.config import LoadedConfig
from tocsin.reloading import ConfigHolder
from tocsin.settings import Settings


def system_clock() -> datetime:
    return datetime.now(UTC)


def consumer_name(settings: Settings) -> str:
    """Each copy of a role is its own stream consumer, named after the host and port it
    serves on: no two running processes share both (the port is bound before any stream is
    read), and a process started in the place of one that died takes up at once the entries
    that one had read but not finished, instead of leaving them until another copy claims
    them as abandoned."""
    return f"{socket.gethostname()}-{settings.port}"


@dataclass
class Runtime:
    settings: Settings
    loaded: InitVar[LoadedConfig]
    """The configuration at start; from then on ``config.current``."""
    redis: ArqRedis
    """Every role's one client (arq's timers included)."""
    secret: bytes
    clock: Clock = system_clock
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    consumer: str = ""
    """Default: ``consumer_name(settings)``."""
    draining: asyncio.Event = field(default_factory=asyncio.Event)
    """Set on SIGTERM: take no new work, say not ready, finish what is in flight."""
    tls: ssl.SSLContext | None = None
    """The web role serves https with it (``Settings.tls``); other roles' ports stay http."""

    config: ConfigHolder = field(init=False)

    def __post_init__(self, loaded: LoadedConfig) -> None:
        self.config = ConfigHolder(loaded, self.registry)
        if not self.consumer:
            self.consumer = consumer_name(self.settings)
