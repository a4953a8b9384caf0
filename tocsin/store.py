"""Connecting to the store (Redis or Valkey): one client per process, shared by every role,
arq included, with timeouts on connecting and on every command, so a store that is away or
hung costs a caller at most ``COMMAND_TIMEOUT`` and never a hang.

URLs: ``redis://[user:password@]host:port/db``, ``rediss://`` (TLS), ``unix:///path?db=N``,
and Sentinel: ``redis+sentinel://[user:password@]h1:26379,h2:26379/service[/db]`` (or
``rediss+sentinel://``), with ``?sentinel_password=`` when the Sentinels have their own.
"""

import asyncio
import contextlib
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from arq.connections import ArqRedis
from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.exceptions import RedisError

COMMAND_TIMEOUT = timedelta(seconds=2)
"""Longest wait for a connection or a reply; a hung store turns into an error after this."""
HEALTH_CHECK_INTERVAL = 10
"""Seconds a pooled connection may sit idle before it is checked with PING on next use."""
PRIMARY_CHECK_INTERVAL = timedelta(seconds=1)
"""Through Sentinel: how often the pool asks them where the primary is, at most."""

_SENTINEL_SCHEMES = {"redis+sentinel": False, "rediss+sentinel": True}
_PLAIN_SCHEMES = {"redis", "rediss", "unix"}


class _Pool(ConnectionPool):
    """redis-py 5.3 connects a pooled connection while holding the pool's lock (which only
    guards re-authentication with expiring tokens, unused here). With a hung store every
    connect waits out its timeout in turn, so the tenth caller waited ten timeouts: one
    caller's connect must not hold up the others."""

    async def get_connection(self, command_name: Any = None, *keys: Any, **options: Any) -> Any:
        connection = self.get_available_connection()  # type: ignore[no-untyped-call]
        try:
            await self.ensure_connection(connection)
        except BaseException:
            await self.release(connection)
            raise
        return connection


class _SentinelPool(_Pool, SentinelConnectionPool):
    """Connections to the primary the Sentinels name. redis-py asks them only when it
    connects, which a killed primary forces; a demoted one does not: after a planned
    failover (``SENTINEL FAILOVER``) the old primary takes writes until Sentinel turns it
    into a replica, eight seconds or more later, and then drops them. So the pool asks
    again in the background, at most every ``PRIMARY_CHECK_INTERVAL`` (no caller waits on
    Sentinels that hang), and moves a connection to the new primary before handing it out."""

    _asked_at = float("-inf")
    _asking: "asyncio.Task[None] | None" = None

    async def ensure_connection(self, connection: Any) -> None:
        self._ask_where_the_primary_is()
        if self.master_address not in (None, (connection.host, connection.port)):
            await connection.disconnect()  # connecting again asks the Sentinels
        await super().ensure_connection(connection)

    async def disconnect(self, inuse_connections: bool = True) -> None:
        await super().disconnect(inuse_connections)
        if inuse_connections:  # the client closes: with it, what it has with the Sentinels
            if self._asking is not None:
                self._asking.cancel()
            for sentinel in self.sentinel_manager.sentinels:
                await sentinel.connection_pool.disconnect()

    def _ask_where_the_primary_is(self) -> None:
        now = time.monotonic()
        if self._asking is not None and not self._asking.done():
            return
        if now - self._asked_at < PRIMARY_CHECK_INTERVAL.total_seconds():
            return
        self._asked_at = now
        self._asking = asyncio.create_task(self._ask())

    async def _ask(self) -> None:
        # No answer keeps the primary known so far: Sentinels that are away must not stop
        # a primary that works.
        with contextlib.suppress(RedisError, OSError):
            await self.get_master_address()  # type: ignore[no-untyped-call]


class StoreUrlError(ValueError):
    """The store URL cannot be used; the message says why, without its password."""


@dataclass(frozen=True)
class _SentinelTarget:
    sentinels: list[tuple[str, int]]
    service: str
    db: int
    username: str | None
    password: str | None
    sentinel_password: str | None
    tls: bool


def connect(url: str, *, timeout: timedelta = COMMAND_TIMEOUT) -> ArqRedis:
    """A client for ``url``; connects lazily, so a store that is down now is no error."""
    seconds = timeout.total_seconds()
    options: dict[str, object] = {
        "socket_connect_timeout": seconds,
        "socket_timeout": seconds,
        "socket_keepalive": True,
        "health_check_interval": HEALTH_CHECK_INTERVAL,
    }
    scheme = urlsplit(url).scheme
    if scheme in _SENTINEL_SCHEMES:
        target = _sentinel_target(url)
        sentinel_options: dict[str, Any] = {
            "password": target.sentinel_password,
            "socket_connect_timeout": seconds,
            "socket_timeout": seconds,
        }
        sentinel = Sentinel(  # type: ignore[no-untyped-call]
            [],
            sentinel_kwargs=sentinel_options,
            db=target.db,
            username=target.username,
            password=target.password,
            ssl=target.tls,
            **options,
        )
        # Its own clients for the Sentinels would connect in turn, too (see _Pool).
        sentinel.sentinels = [
            Redis.from_pool(_Pool(host=host, port=port, **sentinel_options))
            for host, port in target.sentinels
        ]
        client = sentinel.master_for(
            target.service, redis_class=ArqRedis, connection_pool_class=_SentinelPool
        )
        assert isinstance(client, ArqRedis)
        return client
    if scheme not in _PLAIN_SCHEMES:
        raise StoreUrlError(
            f"unsupported store URL scheme {scheme!r}: use redis://, rediss://, unix:// or "
            "redis+sentinel://"
        )
    try:
        pool = _Pool.from_url(url, **options)
    except ValueError as error:
        raise StoreUrlError(f"invalid store URL {describe(url)}: {error}") from None
    # from_pool: the client owns the pool, so closing the client closes its connections.
    client = ArqRedis.from_pool(pool)
    assert isinstance(client, ArqRedis)
    return client


def describe(url: str) -> str:
    """Where ``url`` points, for logs and messages: never its password."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"unix:{parts.path}"
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}{parts.path}"


def _sentinel_target(url: str) -> _SentinelTarget:
    parts = urlsplit(url)
    credentials, _, hosts = parts.netloc.rpartition("@")
    username, _, password = credentials.partition(":")
    sentinels = []
    for item in hosts.split(","):
        host, _, port = item.rpartition(":")
        if not host or not port.isdigit():
            raise StoreUrlError(f"{describe(url)}: each Sentinel must be written host:port")
        sentinels.append((host.strip("[]"), int(port)))
    path = [p for p in parts.path.split("/") if p]
    if not path or len(path) > 2 or (len(path) == 2 and not path[1].isdigit()):
        raise StoreUrlError(
            f"{describe(url)}: name the monitored service after the hosts, e.g. "
            "redis+sentinel://h1:26379,h2:26379/mymaster (optionally /DB after it)"
        )
    query = parse_qs(parts.query)
    return _SentinelTarget(
        sentinels=sentinels,
        service=path[0],
        db=int(path[1]) if len(path) == 2 else 0,
        username=unquote(username) or None,
        password=unquote(password) or None,
        sentinel_password=query.get("sentinel_password", [None])[0],
        tls=_SENTINEL_SCHEMES[parts.scheme],
    )
