"""End to end: /start, /clear, /stats, /model and the command menu."""

from __future__ import annotations

from tests.support.chats import PRIVATE, answer_in
from tests.support.running import RunningBot
from tests.support.waiting import until


class TestStartupCommands:
    async def test_command_menu_is_set_at_start(self, bot: RunningBot) -> None:
        """setMyCommands lists the bot's commands when it starts."""
        [call] = bot.telegram.calls_of("setMyCommands")
        names = [c["command"] for c in call.params["commands"]]
        assert names == [
            "start", "clear", "new", "chats", "stats", "model", "retry", "stop", "persona",
            "system", "export", "tools", "voice",
        ]  # fmt: skip


class TestStart:
    async def test_welcome_names_model_and_commands(self, bot: RunningBot) -> None:
        """/start says what the bot is, the current model and the commands."""
        bot.telegram.send_private_text(PRIVATE, "/start")
        text = await answer_in(bot, PRIVATE)
        assert "gpt-test" in text
        for command in ("/clear", "/stats", "/model"):
            assert command in text
        assert bot.model.requests == []


class TestClear:
    async def test_forgets_this_chat_only(self, bot: RunningBot) -> None:
        """/clear empties this chat's history and leaves another chat's alone."""
        other = PRIVATE + 1
        bot.telegram.send_private_text(PRIVATE, "mine")
        bot.telegram.send_private_text(other, "theirs")
        await answer_in(bot, PRIVATE, 1)
        await answer_in(bot, other, 1)
        bot.telegram.send_private_text(PRIVATE, "/clear")
        assert "forgotten" in await answer_in(bot, PRIVATE, 2)
        bot.telegram.send_private_text(PRIVATE, "fresh")
        bot.telegram.send_private_text(other, "still here?")
        await answer_in(bot, PRIVATE, 3)
        await answer_in(bot, other, 2)
        by_chat = {r.messages[-1]["content"]: r.messages for r in bot.model.requests}
        assert [m["content"] for m in by_chat["fresh"][1:]] == ["fresh"]
        assert [m["content"] for m in by_chat["still here?"][1:]] == [
            "theirs",
            "echo: theirs",
            "still here?",
        ]

    async def test_clear_on_empty_chat_says_so(self, bot: RunningBot) -> None:
        """/clear with nothing to forget says the conversation is already empty."""
        bot.telegram.send_private_text(PRIVATE, "/clear")
        assert "already empty" in await answer_in(bot, PRIVATE)


class TestStats:
    async def test_counts_messages_requests_tokens(self, bot: RunningBot) -> None:
        """/stats shows messages in memory, requests, tokens and the model."""
        bot.telegram.send_private_text(PRIVATE, "one two three")
        await answer_in(bot, PRIVATE, 1)
        bot.telegram.send_private_text(PRIVATE, "/stats")
        text = await answer_in(bot, PRIVATE, 2)
        usage = bot.model.last_usage
        assert usage is not None
        assert "Messages in memory: 2" in text
        assert "Requests: 1" in text
        assert f"Tokens: {usage['prompt_tokens']:,} prompt · {usage['completion_tokens']:,}" in text
        assert "Model: gpt-test" in text
        assert "cost" not in text

    async def test_shows_cost_when_priced(self, bot: RunningBot) -> None:
        """With a price for the model, /stats shows the estimated cost of the chat."""
        await bot.restart(MODEL_PRICES="gpt-test=1000000/2000000")
        bot.telegram.send_private_text(PRIVATE, "price me")
        await answer_in(bot, PRIVATE, 1)
        bot.telegram.send_private_text(PRIVATE, "/stats")
        text = await answer_in(bot, PRIVATE, 2)
        usage = bot.model.last_usage
        assert usage is not None
        expected = usage["prompt_tokens"] * 1.0 + usage["completion_tokens"] * 2.0
        assert f"Estimated cost: ${expected:,.4f}" in text


class TestModel:
    async def test_shows_current_and_a_picker(self, bot: RunningBot) -> None:
        """/model shows the current model with one button per configured model."""
        bot.telegram.send_private_text(PRIVATE, "/model")
        text = await answer_in(bot, PRIVATE)
        assert "Current model: gpt-test" in text
        markup = bot.telegram.messages(PRIVATE)[0].reply_markup
        assert markup is not None
        labels = [row[0]["text"] for row in markup["inline_keyboard"]]
        assert labels == ["✅ gpt-test", "gpt-other", "big-model"]

    async def test_switches_by_name_for_this_chat(self, bot: RunningBot) -> None:
        """/model NAME switches this chat; its next request uses NAME, other chats keep theirs."""
        bot.telegram.send_private_text(PRIVATE, "/model GPT-Other")
        assert "switched to gpt-other" in await answer_in(bot, PRIVATE, 1)
        bot.telegram.send_private_text(PRIVATE, "hi")
        await answer_in(bot, PRIVATE, 2)
        assert bot.model.requests[-1].body["model"] == "gpt-other"
        bot.telegram.send_private_text(PRIVATE + 1, "hi")
        await answer_in(bot, PRIVATE + 1, 1)
        assert bot.model.requests[-1].body["model"] == "gpt-test"

    async def test_choice_survives_restart(self, bot: RunningBot) -> None:
        """A chat's chosen model is kept across a restart."""
        bot.telegram.send_private_text(PRIVATE, "/model big-model")
        await answer_in(bot, PRIVATE, 1)
        await bot.restart()
        bot.telegram.send_private_text(PRIVATE, "hi")
        await answer_in(bot, PRIVATE, 2)
        assert bot.model.requests[-1].body["model"] == "big-model"

    async def test_unknown_name_lists_the_choices(self, bot: RunningBot) -> None:
        """/model with an unknown name is refused with the list of choices."""
        bot.telegram.send_private_text(PRIVATE, "/model gpt-5-ultra")
        text = await answer_in(bot, PRIVATE)
        assert "gpt-5-ultra" in text
        assert "gpt-test, gpt-other, big-model" in text

    async def test_oversized_argument_is_refused_briefly(self, bot: RunningBot) -> None:
        """/model with 10,000 characters gets a short refusal, not an echo of it all."""
        bot.telegram.send_private_text(PRIVATE, "/model " + "x" * 10_000)
        text = await answer_in(bot, PRIVATE)
        assert len(text) < 300
        assert "Choose one of" in text

    async def test_picker_button_switches(self, bot: RunningBot) -> None:
        """Tapping a model in the picker switches the chat and updates the picker."""
        bot.telegram.send_private_text(PRIVATE, "/model")
        await answer_in(bot, PRIVATE)
        picker = bot.telegram.messages(PRIVATE)[0]
        bot.telegram.push_callback_query(PRIVATE, PRIVATE, "model:2", picker.message_id)
        await bot.telegram.wait_for_call("answerCallbackQuery")
        await bot.telegram.wait_for_call("editMessageText")
        await until(lambda: "big-model" in bot.telegram.messages(PRIVATE)[0].text, "not edited")
        assert "big-model" in bot.telegram.messages(PRIVATE)[0].text
        bot.telegram.send_private_text(PRIVATE, "hi")
        await answer_in(bot, PRIVATE, 2)
        assert bot.model.requests[-1].body["model"] == "big-model"


class TestUnknownCommand:
    async def test_lists_the_known_commands(self, bot: RunningBot) -> None:
        """An unknown command gets the list of commands, and no model call."""
        bot.telegram.send_private_text(PRIVATE, "/frobnicate now")
        text = await answer_in(bot, PRIVATE)
        assert "/start" in text and "/model" in text
        assert bot.model.requests == []
