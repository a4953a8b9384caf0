"""Reading a webhook body: bounded in size, then decoded as strict JSON (RFC 8259)."""

import json

from aiohttp import web


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"the body exceeds the limit of {limit} bytes")
        self.limit = limit


class MalformedJson(Exception):
    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        where = "" if line is None else f" at line {line}, column {column}"
        super().__init__(f"malformed JSON{where}: {message}")
        self.message = message
        self.line = line
        self.column = column


async def read_limited(request: web.BaseRequest, limit: int) -> bytes:
    """The whole body, or ``BodyTooLarge`` as soon as it is known to exceed ``limit`` bytes.

    Read here rather than with ``request.read()`` so the limit is ours (aiohttp's
    ``client_max_size`` answers in plain text) and a chunked body is cut off early too.
    """
    if request.content_length is not None and request.content_length > limit:
        raise BodyTooLarge(limit)
    body = bytearray()
    async for chunk in request.content.iter_any():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge(limit)
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
        return json.loads(text, parse_constant=_not_json)
    except json.JSONDecodeError as error:
        raise MalformedJson(error.msg, error.lineno, error.colno) from None
    except RecursionError:
        raise MalformedJson("nested too deeply") from None
    except ValueError as error:  # _not_json, or an integer too long for Python to read
        raise MalformedJson(str(error)) from None


def _not_json(constant: str) -> object:
    # Python's json accepts NaN and Infinity by default; no other JSON parser does.
    raise ValueError(f"{constant} is not a JSON value")
