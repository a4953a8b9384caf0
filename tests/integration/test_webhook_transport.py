"""Senders that misbehave on the wire: a body trickled byte by byte, a connection dropped in
the middle of a body. Raw sockets against a real server, run as ``tocsin web`` runs it."""

import asyncio
import contextlib
import json
import logging
import socket
import struct
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from ingest.stream import alert_stream
from ingest.web import Webhooks, add_routes
from tests.conftest import ManualClock
from tests.integration.test_webhooks import GENERIC, GENERIC_URL, on_stream, payload, rejected

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


def webhooks(redis: Redis, registry: CollectorRegistry, deadline: timedelta) -> Webhooks:
    return Webhooks(
        integrations=[GENERIC],
        stream=alert_stream(redis),
        registry=registry,
        clock=ManualClock(),
        body_deadline=deadline,
    )


class Finished:
    """A middleware that tells when the webhook handler is done, however it ends."""

    def __init__(self) -> None:
        self.event = asyncio.Event()

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        finally:
            self.event.set()


@asynccontextmanager
async def serve(hooks: Webhooks, finished: Finished) -> AsyncIterator[int]:
    """The app on 127.0.0.1 the way ``tocsin web`` serves it (an ``AppRunner``, which does
    not cancel a handler when its client goes away); yields the port. Leaving waits until
    the server has finished with every connection, so whatever it logs has been logged."""
    app = web.Application(middlewares=[finished.middleware])
    add_routes(app, hooks)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


def head(content_length: int) -> bytes:
    return (
        f"POST {GENERIC_URL} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nContent-Length: {content_length}\r\n\r\n"
    ).encode()


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], object]:
    status_line, *header_lines = (await reader.readuntil(b"\r\n\r\n")).decode().splitlines()
    headers = dict(line.split(": ", 1) for line in header_lines if line)
    body = await reader.readexactly(int(headers["Content-Length"]))
    return int(status_line.split()[1]), headers, json.loads(body)


async def trickle(writer: asyncio.StreamWriter, every: timedelta) -> None:
    """One byte of JSON whitespace at a time, until cancelled or the server hangs up."""
    with contextlib.suppress(ConnectionError):
        while True:
            writer.write(b" ")
            await writer.drain()
            await asyncio.sleep(every.total_seconds())


async def test_a_trickled_body_is_cut_off_at_the_deadline(
    redis: Redis, registry: CollectorRegistry
) -> None:
    deadline = timedelta(seconds=0.3)
    async with serve(webhooks(redis, registry, deadline), Finished()) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(head(content_length=1000))
        started = time.monotonic()
        sender = asyncio.create_task(trickle(writer, every=deadline / 6))
        try:
            status, _, body = await read_response(reader)
            elapsed = time.monotonic() - started
        finally:
            sender.cancel()
            writer.close()
            # Closed before the server stops: it would otherwise go on reading (and dropping)
            # the rest of the body for aiohttp's lingering time.
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
    assert (status, body) == (
        408,
        {"error": "the body did not arrive within 0.3 seconds", "limit_seconds": 0.3},
    )
    assert deadline.total_seconds() <= elapsed < 10 * deadline.total_seconds()
    assert rejected(registry, "body_timeout") == 1
    assert rejected(registry, "internal_error") == 0
    assert await on_stream(redis) == []


async def test_a_body_in_pieces_within_the_deadline_is_read(
    redis: Redis, registry: CollectorRegistry
) -> None:
    body = json.dumps(payload("generic", "single")).encode()
    async with serve(webhooks(redis, registry, timedelta(seconds=30)), Finished()) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for piece in (head(len(body)), body[:10], body[10:]):
            writer.write(piece)
            await writer.drain()
        status, _, answer = await read_response(reader)
        writer.close()
    assert (status, answer) == (202, {"accepted": 1})


async def test_a_chunked_body_that_arrived_whole_is_still_held_to_the_limit(
    redis: Redis, registry: CollectorRegistry
) -> None:
    hooks = Webhooks(
        integrations=[GENERIC],
        stream=alert_stream(redis),
        registry=registry,
        clock=ManualClock(),
        max_body_bytes=100,
    )
    body = json.dumps([payload("generic", "single")] * 3).encode()
    chunked = (
        (
            f"POST {GENERIC_URL} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            f"{len(body):x}\r\n"
        ).encode()
        + body
        + b"\r\n0\r\n\r\n"
    )
    async with serve(hooks, Finished()) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(chunked)  # headers and the whole body in one segment
        await writer.drain()
        status, _, answer = await read_response(reader)
        writer.close()
    assert status == 413, answer
    assert rejected(registry, "body_too_large") == 1
    assert await on_stream(redis) == []


def reset_on_close(writer: asyncio.StreamWriter) -> None:
    """Make ``close`` send a TCP reset instead of an orderly end (SO_LINGER 0)."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


@pytest.mark.parametrize("reset", [False, True], ids=["closed", "reset"])
async def test_a_sender_gone_mid_body_is_counted_and_not_logged_as_an_error(
    redis: Redis,
    registry: CollectorRegistry,
    caplog: pytest.LogCaptureFixture,
    reset: bool,
) -> None:
    finished = Finished()
    caplog.set_level(logging.DEBUG)
    async with serve(webhooks(redis, registry, timedelta(seconds=30)), finished) as port:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(head(content_length=100) + b'{"summary": "half a')
        await writer.drain()
        if reset:
            reset_on_close(writer)
        writer.close()
        await finished.event.wait()
    assert rejected(registry, "client_disconnected") == 1
    assert rejected(registry, "internal_error") == 0
    assert [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info] == []
    assert await on_stream(redis) == []


async def test_a_handler_cancelled_by_a_departed_sender_logs_no_error(
    redis: Redis, registry: CollectorRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    """aiohttp's test server cancels a handler whose client went away (an option of
    ``AppRunner``); the cancellation must pass through quietly too."""
    finished = Finished()
    app = web.Application(middlewares=[finished.middleware])
    add_routes(app, webhooks(redis, registry, timedelta(seconds=30)))
    async with TestServer(app, host="127.0.0.1") as server:
        _, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(head(content_length=100) + b'{"summary": "half a')
        await writer.drain()
        writer.close()
        await finished.event.wait()
    assert rejected(registry, "internal_error") == 0
    assert [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info] == []
