"""Automatic pipelining: the commands that concurrent tasks issue in one turn of the event
loop go to the store together, on one connection, without waiting for earlier replies.

redis-py spends far more CPU on a command than the store does: a connection checked out of
the pool and checked for stale data (which costs two turns of the loop), a task to time the
write, a timeout per reply. A worker paging many incidents at once spent half its time
there. An ``AutoPipelined`` client queues each command; at the next turn of the loop one
writer sends the whole queue on the client's own connection, and one reader hands out the
replies in order as they come: every reply one read brought at once, each parsed as redis-py
parses it but not through its per-reply path (a timeout, an error message made in advance),
which cost more than the reply. A busy process thus sends bigger writes, not more of them,
and an idle one adds no timer.

Each caller gets its own reply, or its own error: a command the store rejects (a wrong type,
an unknown script) fails only its caller, so a script's ``NOSCRIPT`` fallback works as it
does without pipelining. A store that is away or hung fails every caller waiting on it once
its command has waited the timeout, and the connection is dropped (its replies can no longer
be matched); the next command connects again. Blocking commands never join (they would hold
up everyone behind them): they go the ordinary way, on a pooled connection of their own, as
do transactions (``pipeline()``).
"""

import asyncio
import inspect
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import hiredis
from arq.connections import ArqRedis
from redis._parsers.hiredis import NOT_ENOUGH_DATA, _AsyncHiredisParser
from redis.asyncio.connection import AbstractConnection
from redis.client import EMPTY_RESPONSE, NEVER_DECODE
from redis.exceptions import ConnectionError as StoreConnectionError
from redis.exceptions import ReadOnlyError, RedisError, ResponseError
from redis.exceptions import TimeoutError as StoreTimeoutError

from tocsin.store import COMMAND_TIMEOUT, PRIMARY_CHECK_INTERVAL

ON_THEIR_OWN = frozenset(
    {"BLPOP", "BRPOP", "BLMOVE", "BLMPOP", "BZPOPMIN", "BZPOPMAX", "BZMPOP", "WAIT", "WAITAOF"}
    | {"XREAD", "XREADGROUP"}  # BLOCK is an option of theirs
)
"""Commands that may wait on the store's side: sent the ordinary way."""
_AS_IS = frozenset({str, bytes, int})
"""Argument types hiredis packs as redis-py does (exactly these: not bool, not float)."""
_UTF8 = frozenset({"utf-8", "utf8"})
_NOT_FOR_CALLBACKS = frozenset({EMPTY_RESPONSE, NEVER_DECODE, "keys"})
"""Options of redis-py's own that it takes out before a reply's callback sees the rest."""


@dataclass
class _Command:
    args: tuple[Any, ...]
    options: dict[str, Any]
    reply: asyncio.Future[Any] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    due: float = 0.0
    """When its reply is overdue (loop time), once sent."""

    def answer(self, reply: Any) -> None:
        if self.reply.done():  # its caller stopped waiting
            return
        if isinstance(reply, BaseException):
            self.reply.set_exception(reply)
        else:
            self.reply.set_result(reply)


class _Line:
    """One connection and the replies it owes, oldest first."""

    def __init__(self, connection: AbstractConnection) -> None:
        self.connection = connection
        self.owed: deque[_Command] = deque()
        self.reader: asyncio.Task[None] | None = None
        self.idle_since = time.monotonic()
        self.retired = False
        """Takes no more commands; closed once it has read what it owes."""


class AutoPipelined(ArqRedis):
    """A client on ``client``'s pool (for what it does not pipeline, and for finding the
    store: Sentinel's primary included) that pipelines its commands on a connection of its
    own; closing it closes only that connection."""

    def __init__(self, client: ArqRedis, *, timeout: timedelta = COMMAND_TIMEOUT) -> None:
        super().__init__(
            client.connection_pool,
            job_serializer=client.job_serializer,
            job_deserializer=client.job_deserializer,
            default_queue_name=client.default_queue_name,
            expires_extra_ms=client.expires_extra_ms,
        )
        self.timeout = timeout
        self._waiting: list[_Command] = []
        self._writer: asyncio.Task[None] | None = None
        self._line: _Line | None = None

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        if str(args[0]).upper() in ON_THEIR_OWN:
            return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]
        command = _Command(args, options)
        self._waiting.append(command)
        if self._writer is None:
            # Starts after every task ready now has run: what they ask goes along.
            self._writer = asyncio.create_task(self._write_all())
        return await command.reply

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        if self._line is not None:
            await self._close(self._line, RedisError("the client was closed"))
        await super().aclose(close_connection_pool)

    async def _write_all(self) -> None:
        batch: list[_Command] = []
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                await self._write([c for c in batch if not c.reply.done()])
        except asyncio.CancelledError:
            # The process is stopping: nobody may wait for a reply that will not come.
            for command in (*batch, *self._waiting):
                command.reply.cancel()
            self._waiting.clear()
            raise
        finally:
            self._writer = None

    async def _write(self, batch: list[_Command]) -> None:
        line = self._line
        if line is None or line.retired:
            line = self._line = _Line(self._connection())
        packed, batch = _packed(line.connection, batch)
        if not batch:
            return
        seconds = self.timeout.total_seconds()
        try:
            async with asyncio.timeout(seconds):
                if not line.owed:
                    await self._ready(line)
                due = asyncio.get_running_loop().time() + seconds
                for command in batch:
                    command.due = due
                # Owed before they are written, so the reader expects them in this order.
                line.owed.extend(batch)
                await line.connection.send_packed_command(packed, check_health=False)
        except Exception as error:
            failure = _outage(error, self.timeout)
            for command in batch:  # owed already, unless the line could not connect
                command.answer(failure)
            await self._close(line, failure)
            return
        if line.reader is None:
            line.reader = asyncio.create_task(self._read_all(line))

    def _connection(self) -> AbstractConnection:
        """A connection like the pool's, with no timeout of its own (the line times each
        command, and one timeout per reply cost more than the reply) and no health check
        (its PING would take a reply owed to a caller)."""
        pool = self.connection_pool
        options = {**pool.connection_kwargs, "socket_timeout": None, "health_check_interval": 0}
        connection: AbstractConnection = pool.connection_class(**options)
        return connection

    async def _ready(self, line: _Line) -> None:
        """Connected, and, after a pause, still to the right store: the pool checks what
        it would check before handing out a connection (stale data, the primary Sentinel
        names). Not before every write: that check alone costs two turns of the loop."""
        if time.monotonic() - line.idle_since > PRIMARY_CHECK_INTERVAL.total_seconds():
            await self.connection_pool.ensure_connection(line.connection)
        else:
            await line.connection.connect()  # type: ignore[no-untyped-call]

    async def _read_all(self, line: _Line) -> None:
        parser = line.connection._parser
        assert isinstance(parser, _AsyncHiredisParser), "redis[hiredis] is a dependency"
        try:
            async with asyncio.timeout(None) as deadline:
                while line.owed:
                    command = line.owed[0]
                    reply = _buffered(parser, decode=NEVER_DECODE not in command.options)
                    if reply is NOT_ENOUGH_DATA:
                        if deadline.when() != command.due:  # a batch shares its due time
                            deadline.reschedule(command.due)
                        await _read_more(parser)
                        continue
                    line.owed.popleft()
                    if isinstance(reply, ReadOnlyError):
                        # A demoted primary: the next commands go on a new connection,
                        # which the pool points at the current one.
                        line.retired = True
                    parsed = self._parsed(command, reply)
                    command.answer(await parsed if inspect.isawaitable(parsed) else parsed)
        except Exception as error:
            line.reader = None
            await self._close(line, _outage(error, self.timeout))
            return
        line.reader = None
        line.idle_since = time.monotonic()
        if line.retired:
            await line.connection.disconnect()

    def _parsed(self, command: _Command, reply: Any) -> Any:
        """What ``parse_response`` makes of the reply: the command's own error or answer
        (or, from a callback of redis-py's that is a coroutine function, one to await)."""
        options = command.options
        if isinstance(reply, ResponseError):
            return options.get(EMPTY_RESPONSE, reply)
        callback = self.response_callbacks.get(command.args[0])
        if callback is None:
            return reply
        return callback(reply, **{k: v for k, v in options.items() if k not in _NOT_FOR_CALLBACKS})

    async def _close(self, line: _Line, error: Exception) -> None:
        """The line's replies can no longer be matched to its callers: each gets ``error``."""
        line.retired = True
        if line.reader is not None:
            line.reader.cancel()
            line.reader = None
        owed, line.owed = line.owed, deque()
        for command in owed:
            command.answer(error)
        await line.connection.disconnect(nowait=True)


def _packed(connection: AbstractConnection, batch: list[_Command]) -> tuple[bytes, list[_Command]]:
    """The batch as the store reads it, and the commands in it: a caller whose arguments
    cannot be sent (a ``None``, a bool) gets that error alone."""
    pieces = []
    sendable = []
    for command in batch:
        try:
            pieces.append(_pack(connection, command.args))
        except Exception as error:
            command.answer(error)
        else:
            sendable.append(command)
    return b"".join(pieces), sendable


def _pack(connection: AbstractConnection, args: tuple[Any, ...]) -> bytes:
    """One command in the store's protocol. Arguments that are all strings, bytes and
    integers, as nearly all are, are packed by hiredis, in C, in a sixth of the time redis-py
    takes; anything else (floats, which redis-py writes its own way, and what it refuses) by
    redis-py. Either way a command name such as ``CLIENT ID`` goes as its words."""
    encoder = connection.encoder
    plain = encoder.encoding.lower() in _UTF8 and encoder.encoding_errors == "strict"
    if not plain or not _AS_IS.issuperset(map(type, args)):
        return b"".join(connection.pack_command(*args))
    name = args[0]
    if isinstance(name, str):
        args = (*name.encode().split(), *args[1:])
    elif b" " in name:
        args = (*name.split(), *args[1:])
    packed: bytes = hiredis.pack_command(args)
    return packed


def _buffered(parser: _AsyncHiredisParser, *, decode: bool) -> Any:
    """The next reply read already, or ``NOT_ENOUGH_DATA``."""
    if parser._reader is None:  # disconnected
        raise StoreConnectionError("the connection to the store was closed")
    return parser._reader.gets(decode)


async def _read_more(parser: _AsyncHiredisParser) -> None:
    """Wait for more of the replies owed, as the parser would: a connection lost is the
    store's ``ConnectionError``."""
    try:
        await parser.read_from_socket()  # type: ignore[no-untyped-call]
    except OSError as error:
        raise StoreConnectionError(f"Error while reading from the store: {error}") from error


def _outage(error: Exception, timeout: timedelta) -> Exception:
    if isinstance(error, TimeoutError):
        return StoreTimeoutError(f"no reply from the store within {timeout}")
    return error
