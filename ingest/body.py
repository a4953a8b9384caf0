"""Reading a webhook body: bounded in size and in time, then decoded as strict JSON
(RFC 8259)."""

import asyncio
import json
from datetime import timedelta

from aiohttp import web


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"the body exceeds the limit of {limit} bytes")
        self.limit = limit


class BodyTimeout(Exception):
    def __init__(self, deadline: timedelta) -> None:
        seconds = deadline.total_seconds()
        super().__init__(f"the body did not arrive within {seconds:g} seconds")
        self.deadline = deadline


class ClientDisconnected(Exception):
    """The sender closed the connection before the whole body arrived."""


class MalformedJson(Exception):
    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        where = "" if line is None else f" at line {line}, column {column}"
        super().__init__(f"malformed JSON{where}: {message}")
        self.message = message
        self.line = line
        self.column = column


async def read_limited(request: web.BaseRequest, limit: int, deadline: timedelta) -> bytes:
    """The whole body, or ``BodyTooLarge`` as soon as it is known to exceed ``limit`` bytes,
    ``BodyTimeout`` if it has not all arrived within ``deadline``, ``ClientDisconnected`` if
    the sender went away first.

    Read here rather than with ``request.read()`` so the limit is ours (aiohttp's
    ``client_max_size`` answers in plain text) and a chunked body is cut off early too. The
    deadline is for the whole body, not between bytes: a sender trickling a byte every few
    seconds would otherwise hold a connection and a handler for as long as it likes.
    """
    if request.content_length is not None and request.content_length > limit:
        raise BodyTooLarge(limit)
    if request.content.is_eof():
        # Most bodies arrive with their headers: then there is nothing to wait for, and no
        # deadline to arm (a tenth of a small webhook's cost).
        whole = request.content.read_nowait()
        if len(whole) > limit:
            raise BodyTooLarge(limit)
        return whole
    body = bytearray()
    try:
        async with asyncio.timeout(deadline.total_seconds()):
            async for chunk in request.content.iter_any():
                body += chunk
                if len(body) > limit:
                    raise BodyTooLarge(limit)
    except TimeoutError:
        raise BodyTimeout(deadline) from None
    except ConnectionError:  # aiohttp's "Connection lost", or the peer's reset
        raise ClientDisconnected from None
    return bytes(body)


def decode_json(body: bytes) -> object:
    """The JSON value in ``body``, or ``MalformedJson`` saying where and why it is not JSON."""
    if not body.strip():
        raise MalformedJson("the body is empty")
    try:
        # utf-8-sig: RFC 8259 lets a parser ignore a byte order mark, and some tools send one.
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise MalformedJson(f"not UTF-8 ({error.reason} at byte {error.start})") from None
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as error:
        raise MalformedJson(error.msg, error.lineno, error.colno) from None
    except RecursionError:
        raise MalformedJson("nested too deeply") from None
    except ValueError as error:  # _not_json, or an integer too long for Python to read
        raise MalformedJson(str(error)) from None


def _not_json(constant: str) -> object:
    # Python's json accepts NaN and Infinity by default; no other JSON parser does.
    raise ValueError(f"{constant} is not a JSON value")


_DECODER = json.JSONDecoder(parse_constant=_not_json)
"""Made once: ``json.loads`` with an option builds a decoder on every call."""
