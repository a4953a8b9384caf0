"""Reading an API request's JSON body into its model, with one answer per way it can be
wrong, each saying what is wrong."""

from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from ingest.body import (
    BodyTimeout,
    BodyTooLarge,
    ClientDisconnected,
    MalformedJson,
    decode_json,
    read_limited,
)
from ingest.web import BODY_DEADLINE, MAX_BODY_BYTES
from schedules.yamlfile import format_loc

M = TypeVar("M", bound=BaseModel)


class BadBody(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def read_model(
    request: web.Request,
    model: type[M],
    *,
    limit: int = MAX_BODY_BYTES,
    empty: M | None = None,
) -> M:
    """The body as ``model``, or ``empty`` when there is no body and that is allowed;
    ``BadBody`` otherwise, naming what is wrong (a 400 for JSON that is not the model, as
    for a value the model allows that names nothing known: one status, one kind of error)."""
    try:
        raw = await read_limited(request, limit, BODY_DEADLINE)
        if empty is not None and not raw.strip():
            return empty
        return model.model_validate(decode_json(raw))
    except BodyTooLarge as error:
        raise BadBody(413, str(error)) from None
    except BodyTimeout as error:
        raise BadBody(408, str(error)) from None
    except (ClientDisconnected, MalformedJson) as error:
        raise BadBody(400, str(error) or "the connection closed before the whole body") from None
    except ValidationError as error:
        raise BadBody(400, _say(error)) from None


def _say(error: ValidationError) -> str:
    return "; ".join(
        f"{format_loc(detail['loc']) or 'the body'}: {detail['msg']}"
        for detail in error.errors(include_url=False)
    )
