"""The Bot API wire (bot/telegram/app/transport.py): parameters as one JSON body, files as
multipart, the same values either way."""

from __future__ import annotations

from tests.fakes.openai import Reply
from tests.support.chats import PRIVATE, answer_in, exported, say
from tests.support.running import RunningBot


class TestJsonBodies:
    async def test_a_formatted_answer_is_sent_as_json(self, bot: RunningBot) -> None:
        """An answer's sendMessage carries its parameters as one JSON object (typed values:
        the chat id a number, the entities a list), text with any characters intact."""
        answer = "Ça marche: **bold** & `code` + 100% «ok» 🙂"
        bot.model.script(Reply(answer))
        bot.telegram.send_private_text(PRIVATE, "format something")
        text = await answer_in(bot, PRIVATE)
        assert text == "Ça marche: bold & code + 100% «ok» 🙂"
        [call] = bot.telegram.calls_of("sendMessage", chat_id=PRIVATE)
        assert call.content_type == "application/json"
        assert call.params["chat_id"] == PRIVATE
        assert [e["type"] for e in call.params["entities"]] == ["bold", "code"]
        typing = bot.telegram.calls_of("sendChatAction", chat_id=PRIVATE)[0]
        assert typing.content_type == "application/json"
        assert typing.params["action"] == "typing"

    async def test_a_file_goes_as_multipart(self, bot: RunningBot) -> None:
        """/export's document is uploaded as multipart form data, with its caption."""
        bot.telegram.send_private_text(PRIVATE, "hello")
        await answer_in(bot, PRIVATE)
        caption = await say(bot, "/export", 2)
        [call] = bot.telegram.calls_of("sendDocument", chat_id=PRIVATE)
        assert call.content_type == "multipart/form-data"
        assert caption
        assert b"hello" in exported(bot, 1).content
