"""The chats the end-to-end tests talk in, and how a test talks and waits for the bot's answer."""

from __future__ import annotations

import asyncio

from tests.fakes.telegram import UploadedFile
from tests.support.running import RunningBot

PRIVATE = 1001
GROUP = -100500


async def answer_in(bot: RunningBot, chat_id: int, count: int = 1, timeout: float = 10) -> str:
    """Wait until the bot has sent `count` messages to the chat; return the last one's text."""
    deadline = asyncio.get_running_loop().time() + timeout
    while len(bot.telegram.messages(chat_id)) < count:
        assert asyncio.get_running_loop().time() < deadline, "no answer arrived"
        await asyncio.sleep(0.01)
    return bot.telegram.messages(chat_id)[count - 1].text


async def say(bot: RunningBot, text: str, count: int, chat: int = PRIVATE) -> str:
    """Send a private text and return the `count`-th message the bot sent to the chat."""
    bot.telegram.send_private_text(chat, text)
    return await answer_in(bot, chat, count)


def user_messages(request_messages: list[dict[str, str]]) -> list[str]:
    """The texts of the user messages in a request to the model."""
    return [m["content"] for m in request_messages if m["role"] == "user"]


def exported(bot: RunningBot, index: int) -> UploadedFile:
    """The file the bot sent as its `index`-th message in the private chat."""
    document = bot.telegram.messages(PRIVATE)[index].document
    assert isinstance(document, UploadedFile)
    return document
