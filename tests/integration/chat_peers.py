"""Local stand-ins for chat services, on 127.0.0.1: they take what the real ones take, check
the shape the real ones check, and answer as the real ones do, including their failures."""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer


class Hold:
    """Requests that hang until the test ends (for timeouts)."""

    def __init__(self) -> None:
        self.released = asyncio.Event()

    async def forever(self) -> None:
        await self.released.wait()


@asynccontextmanager
async def serving(app: web.Application, hold: Hold) -> AsyncIterator[TestServer]:
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield server
    finally:
        hold.released.set()
        await server.close()


def answer_by_name(name: str) -> web.Response | None:
    """Failures a test asks for by the last part of the URL: ``.../fail-503``, ``.../slow``
    is handled by the caller. ``None``: answer as the service does on success."""
    if name.startswith("fail-"):
        status = int(name.removeprefix("fail-"))
        headers = {"Retry-After": "30"} if status == 429 else {}
        return web.Response(status=status, text=f"failed with {status}", headers=headers)
    return None


def assert_plain_text(text: dict[str, Any], limit: int) -> None:
    assert text["type"] == "plain_text"
    assert 0 < len(text["text"]) <= limit


def block_kit_problems(body: dict[str, Any]) -> list[str]:
    """What Slack would refuse as ``invalid_blocks``, for the blocks Tocsin sends."""
    problems = []
    blocks = body.get("blocks")
    if not isinstance(blocks, list) or not 0 < len(blocks) <= 50:
        return ["blocks must be a list of 1 to 50 blocks"]
    if not isinstance(body.get("text"), str) or not body["text"]:
        problems.append("text is the notification fallback and is required with blocks")
    for block in blocks:
        try:
            if block["type"] == "header":
                assert_plain_text(block["text"], 150)
            elif block["type"] == "section":
                assert block["text"]["type"] == "mrkdwn"
                assert 0 < len(block["text"]["text"]) <= 3000
                for field in block.get("fields", []):
                    assert 0 < len(field["text"]) <= 2000
                assert len(block.get("fields", [])) <= 10
            elif block["type"] == "actions":
                assert 0 < len(block["elements"]) <= 25
                for button in block["elements"]:
                    assert button["type"] == "button"
                    assert_plain_text(button["text"], 75)
                    assert button["url"].startswith(("https://", "http://"))
                    assert len(button["url"]) <= 3000
                    assert button.get("style", "primary") in ("primary", "danger")
            else:
                problems.append(f"unexpected block {block['type']}")
        except (AssertionError, KeyError, TypeError) as exc:
            problems.append(f"bad {block.get('type')} block: {exc!r}")
    return problems


async def in_pieces(request: web.Request, answer: dict[str, Any]) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    data = json.dumps(answer).encode()
    for start in range(0, len(data), 512):
        await response.write(data[start : start + 512])
        await asyncio.sleep(0.01)  # each piece its own arrival, as over a real network
    await response.write_eof()
    return response


class SlackPeer:
    """Slack's incoming webhooks (``/services/T/B/<secret>``) and Web API
    ``/api/chat.postMessage`` with one valid bot token."""

    TOKEN = "xoxb-1234-5678-test"

    def __init__(self) -> None:
        self.hooked: list[dict[str, Any]] = []
        self.posted: list[dict[str, Any]] = []
        self.hold = Hold()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/services/{team}/{bot}/{secret}", self.incoming_webhook)
        app.router.add_post("/api/chat.postMessage", self.post_message)
        return app

    async def incoming_webhook(self, request: web.Request) -> web.Response:
        secret = request.match_info["secret"]
        if secret == "slow":
            await self.hold.forever()
        failure = answer_by_name(secret)
        if failure is not None:
            return failure
        if secret == "archived":
            return web.Response(status=410, text="channel_is_archived")
        body = await request.json()
        if block_kit_problems(body):
            return web.Response(status=400, text="invalid_blocks")
        self.hooked.append(body)
        return web.Response(text="ok")

    async def post_message(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.TOKEN}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if request.content_type != "application/json":
            return web.json_response({"ok": False, "error": "invalid_form_data"})
        body = await request.json()
        channel = body.get("channel", "")
        if channel == "CSLOW":
            await self.hold.forever()
        if channel == "C429":
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "30"}
            )
        if channel == "C503":
            return web.Response(status=503, text="upstream unavailable")
        if channel == "CRATELIMITED":
            return web.json_response({"ok": False, "error": "ratelimited"})
        if not channel.startswith(("U", "C")) or channel == "C404":
            return web.json_response({"ok": False, "error": "channel_not_found"})
        if block_kit_problems(body):
            return web.json_response({"ok": False, "error": "invalid_blocks"})
        self.posted.append(body)
        answer = {"ok": True, "channel": channel, "ts": "1772452800.000100"}
        if channel == "CCHUNKED":
            # Slack's answers hold the whole message: large, and sent in pieces.
            return await in_pieces(request, {**answer, "message": body})
        return web.json_response(answer)


class WorkflowPeer:
    """A Teams workflow ("when a webhook request is received"): takes a message with one
    Adaptive Card attachment and answers 202; Mattermost and Rocket.Chat incoming webhooks
    (``{"text": ...}``, answered 200) at ``/hooks/...``."""

    def __init__(self) -> None:
        self.cards: list[dict[str, Any]] = []
        self.texts: list[tuple[str, str]] = []
        self.hold = Hold()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/workflows/{name}", self.workflow)
        app.router.add_post("/hooks/{tool}/{name}", self.chat_hook)
        return app

    async def workflow(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name == "slow":
            await self.hold.forever()
        failure = answer_by_name(name)
        if failure is not None:
            return failure
        body = await request.json()
        try:
            assert body["type"] == "message"
            [attachment] = body["attachments"]
            assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
            card = attachment["content"]
            assert card["type"] == "AdaptiveCard"
            assert tuple(map(int, card["version"].split("."))) >= (1, 4)
            assert card["body"], "a card needs a body"
            for action in card.get("actions", []):
                assert action["type"] == "Action.OpenUrl"
                assert action["title"]
                assert action["url"].startswith(("https://", "http://"))
        except (AssertionError, KeyError, ValueError) as exc:
            return web.json_response({"error": {"message": f"bad card: {exc!r}"}}, status=400)
        self.cards.append(card)
        return web.Response(status=202)

    async def chat_hook(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name == "slow":
            await self.hold.forever()
        failure = answer_by_name(name)
        if failure is not None:
            return failure
        body = await request.json()
        if not isinstance(body.get("text"), str) or not body["text"]:
            return web.Response(status=400, text="Unable to parse incoming data")
        self.texts.append((request.match_info["tool"], body["text"]))
        return web.Response(text="ok")
