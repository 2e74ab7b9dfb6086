"""End to end: /persona, /system and /export — what the user sees, what the model is sent."""

from __future__ import annotations

import json
from pathlib import Path

from bot.config import DEFAULT_SYSTEM_PROMPT
from bot.engine.profiles.personas import load_personas
from tests.fakes.openai import Error
from tests.support.chats import GROUP, PRIVATE, answer_in, exported, say
from tests.support.database import db_rows
from tests.support.running import RunningBot
from tests.support.waiting import until

PERSONAS = """
[plain]
description = "No prompt of its own"

[pirate]
description = "Talks like a pirate"
system_prompt = "You are a pirate. Say arr."
temperature = 1.3

[big]
description = "Prefers the big model"
system_prompt = "You think big."
model = "big-model"

[elsewhere]
description = "Prefers a model this bot does not offer"
system_prompt = "Somewhere else."
model = "not-offered"
"""


async def with_personas(bot: RunningBot, tmp_path: Path) -> None:
    path = tmp_path / "personas.toml"
    path.write_text(PERSONAS, encoding="utf-8")
    await bot.restart(PERSONAS_FILE=str(path))


def system_prompt_sent(bot: RunningBot) -> str:
    first = bot.model.requests[-1].messages[0]
    assert first["role"] == "system"
    return str(first["content"])


class TestPersonaList:
    async def test_lists_the_shipped_personas_with_a_picker(self, bot: RunningBot) -> None:
        """/persona lists every default persona with its description and one button each."""
        text = await say(bot, "/persona", 1)
        shipped = load_personas(None)
        assert "Current persona: none" in text
        for persona in shipped:
            assert f"• {persona.name} – {persona.description}" in text
        markup = bot.telegram.messages(PRIVATE)[0].reply_markup
        assert markup is not None
        labels = [row[0]["text"] for row in markup["inline_keyboard"]]
        assert labels == [*shipped.names, "↩️ Default"]
        assert bot.model.requests == []

    async def test_picker_buttons_switch(self, bot: RunningBot, tmp_path: Path) -> None:
        """Tapping a persona, then "Default", in the picker switches the chat each time."""
        await with_personas(bot, tmp_path)
        await say(bot, "/persona", 1)
        picker = bot.telegram.messages(PRIVATE)[0]
        bot.telegram.push_callback_query(PRIVATE, PRIVATE, "persona:1", picker.message_id)
        await bot.telegram.wait_for_call("editMessageText")
        await until(
            lambda: "switched to pirate" in bot.telegram.messages(PRIVATE)[0].text, "no edit"
        )
        assert "switched to pirate" in bot.telegram.messages(PRIVATE)[0].text
        await say(bot, "ahoy", 2)
        assert system_prompt_sent(bot) == "You are a pirate. Say arr."
        before = len(bot.telegram.calls)
        bot.telegram.push_callback_query(PRIVATE, PRIVATE, "persona:reset", picker.message_id)
        await bot.telegram.wait_for_call("editMessageText", since=before)
        await say(bot, "back", 3)
        assert system_prompt_sent(bot) == DEFAULT_SYSTEM_PROMPT


class TestPersonaSwitch:
    async def test_switch_sends_its_prompt_and_temperature(
        self, bot: RunningBot, tmp_path: Path
    ) -> None:
        """/persona NAME (any case) puts its prompt first and uses its temperature."""
        await with_personas(bot, tmp_path)
        assert "switched to pirate" in await say(bot, "/persona PIRATE", 1)
        await say(bot, "hello", 2)
        assert system_prompt_sent(bot) == "You are a pirate. Say arr."
        assert bot.model.requests[-1].body["temperature"] == 1.3

    async def test_persona_without_prompt_uses_system_prompt(
        self, bot: RunningBot, tmp_path: Path
    ) -> None:
        """A persona that defines no prompt sends SYSTEM_PROMPT and TEMPERATURE."""
        await with_personas(bot, tmp_path)
        await say(bot, "/persona plain", 1)
        await say(bot, "hello", 2)
        assert system_prompt_sent(bot) == DEFAULT_SYSTEM_PROMPT
        assert bot.model.requests[-1].body["temperature"] == 0.7

    async def test_unknown_name_lists_the_choices(self, bot: RunningBot, tmp_path: Path) -> None:
        """/persona with an unknown name is refused with the list of personas."""
        await with_personas(bot, tmp_path)
        text = await say(bot, "/persona ninja", 1)
        assert "ninja" in text
        assert "plain, pirate, big, elsewhere" in text

    async def test_reset_goes_back_to_the_default(self, bot: RunningBot, tmp_path: Path) -> None:
        """/persona reset returns the chat to SYSTEM_PROMPT."""
        await with_personas(bot, tmp_path)
        await say(bot, "/persona pirate", 1)
        assert "default" in await say(bot, "/persona reset", 2)
        await say(bot, "hello", 3)
        assert system_prompt_sent(bot) == DEFAULT_SYSTEM_PROMPT

    async def test_preferred_model_and_model_command(self, bot: RunningBot, tmp_path: Path) -> None:
        """A persona's model applies on switching; /model later wins; the latest choice counts."""
        await with_personas(bot, tmp_path)
        await say(bot, "/model gpt-other", 1)
        assert "model: big-model" in await say(bot, "/persona big", 2)
        await say(bot, "one", 3)
        assert bot.model.requests[-1].body["model"] == "big-model"
        await say(bot, "/model gpt-other", 4)
        await say(bot, "two", 5)
        assert bot.model.requests[-1].body["model"] == "gpt-other"
        assert system_prompt_sent(bot) == "You think big."

    async def test_unoffered_model_is_ignored(self, bot: RunningBot, tmp_path: Path) -> None:
        """A persona preferring a model outside OPENAI_MODELS keeps the chat's model."""
        await with_personas(bot, tmp_path)
        await say(bot, "/persona elsewhere", 1)
        await say(bot, "hi", 2)
        assert bot.model.requests[-1].body["model"] == "gpt-test"


class TestSystemPrompt:
    async def test_set_show_reset(self, bot: RunningBot) -> None:
        """/system TEXT sets it (line breaks kept), /system shows it, /system reset drops it."""
        assert "System prompt set" in await say(bot, "/system Be brief.\nUse French.", 1)
        assert "Be brief.\nUse French." in await say(bot, "/system", 2)
        await say(bot, "hello", 3)
        assert system_prompt_sent(bot) == "Be brief.\nUse French."
        reset = await say(bot, "/system reset", 4)
        assert "removed" in reset and DEFAULT_SYSTEM_PROMPT in reset
        await say(bot, "again", 5)
        assert system_prompt_sent(bot) == DEFAULT_SYSTEM_PROMPT

    async def test_custom_prompt_over_persona(self, bot: RunningBot, tmp_path: Path) -> None:
        """/system overrides a persona's prompt; reset returns to the persona's prompt."""
        await with_personas(bot, tmp_path)
        await say(bot, "/persona pirate", 1)
        await say(bot, "/system Custom.", 2)
        await say(bot, "a", 3)
        assert system_prompt_sent(bot) == "Custom."
        assert "persona pirate" in await say(bot, "/system reset", 4)
        await say(bot, "b", 5)
        assert system_prompt_sent(bot) == "You are a pirate. Say arr."

    async def test_too_long_is_refused(self, bot: RunningBot) -> None:
        """A prompt over the limit is refused and the old one stays."""
        assert "too long" in await say(bot, "/system " + "x" * 4050, 1)
        await say(bot, "hi", 2)
        assert system_prompt_sent(bot) == DEFAULT_SYSTEM_PROMPT

    async def test_settings_survive_clear_and_restart(
        self, bot: RunningBot, tmp_path: Path
    ) -> None:
        """Persona and custom prompt outlive /clear and a restart; the history does not."""
        await with_personas(bot, tmp_path)
        await say(bot, "/persona pirate", 1)
        await say(bot, "/system Remember me.", 2)
        await say(bot, "first", 3)
        await say(bot, "/clear", 4)
        await bot.restart()
        await say(bot, "second", 5)
        request = bot.model.requests[-1]
        assert system_prompt_sent(bot) == "Remember me."
        assert request.body["temperature"] == 1.3
        assert [m["content"] for m in request.messages[1:]] == ["second"]

    async def test_groups_keep_their_own(self, bot: RunningBot) -> None:
        """A group's system prompt is the group's own; a private chat keeps the default."""
        bot.telegram.set_chat_admins(GROUP, [7])  # changing a group's settings takes an admin
        bot.telegram.send_group_text(GROUP, "/system Group rules.", user_id=7)
        await answer_in(bot, GROUP, 1)
        bot.telegram.send_group_text(GROUP, "@test_llm_bot hi", user_id=7)
        await answer_in(bot, GROUP, 2)
        assert system_prompt_sent(bot) == "Group rules."
        await say(bot, "hi", 1)
        assert system_prompt_sent(bot) == DEFAULT_SYSTEM_PROMPT


class TestSystemPromptUnderTrimming:
    async def test_stays_first_under_heavy_trimming(self, bot: RunningBot) -> None:
        """With long turns and a small context, the custom prompt is still sent first, whole."""
        await bot.restart(MAX_CONTEXT_TOKENS="600", MAX_OUTPUT_TOKENS="100")
        prompt = "Rules: " + "be careful. " * 50  # ~150 tokens of a 500-token budget
        await say(bot, f"/system {prompt}", 1)
        for n in range(4):
            await say(bot, f"long message {n} " + "words " * 60, n + 2)  # ~100 tokens each
        messages = bot.model.requests[-1].messages
        assert messages[0] == {"role": "system", "content": prompt.strip()}
        assert [m["content"].split(" words")[0] for m in messages[1:]] == [
            "long message 2",
            "echo: long message 2",
            "long message 3",
        ]

    async def test_stays_first_after_a_context_length_error(self, bot: RunningBot) -> None:
        """When the provider says the context is too long, the shorter retry keeps the prompt."""
        await say(bot, "/system Keep me first.", 1)
        for n in range(3):
            await say(bot, f"turn {n}", n + 2)
        bot.model.script(Error(400, "maximum context length", code="context_length_exceeded"))
        assert await say(bot, "last", 5) == "echo: last"
        long_, short = bot.model.requests[-2], bot.model.requests[-1]
        assert len(short.messages) < len(long_.messages)
        assert short.messages[0] == {"role": "system", "content": "Keep me first."}


class TestExport:
    async def test_markdown_matches_stored_history(self, bot: RunningBot) -> None:
        """/export sends a Markdown file with every stored question and answer, in order."""
        for n, text in enumerate(["Hello *there*", "Ça va? 👋", "line one\nline two"]):
            await say(bot, text, n + 1)
        await say(bot, "/export", 4)
        document = exported(bot, 3)
        assert document.filename.endswith(".md")
        content = document.content.decode("utf-8")
        stored = db_rows(bot, "SELECT user_text, answer FROM turns ORDER BY id")
        position = 0
        for question, answer in stored:
            for part in (question, answer):
                found = content.find(f"\n{part}\n", position)
                assert found > position, f"{part!r} missing or out of order"
                position = found
        assert "3 exchanges" in bot.telegram.messages(PRIVATE)[3].text

    async def test_json_equals_stored_history(self, bot: RunningBot) -> None:
        """/export json holds exactly the stored turns, with the persona and prompt in effect."""
        await say(bot, "/system Be exact.", 1)
        await say(bot, "first", 2)
        await say(bot, "second", 3)
        await say(bot, "/export json", 4)
        document = exported(bot, 3)
        assert document.filename.endswith(".json")
        data = json.loads(document.content)
        stored = db_rows(
            bot, "SELECT id, user_text, answer, model FROM turns WHERE state = 'answered'"
        )
        assert [(t["id"], t["user"], t["assistant"], t["model"]) for t in data["turns"]] == stored
        assert data["system_prompt"] == "Be exact." and data["system_prompt_source"] == "custom"
        assert data["chat"] == f"tg:{PRIVATE}" and data["summary"] is None

    async def test_empty_chat_and_bad_format(self, bot: RunningBot) -> None:
        """With no history /export says so; an unknown format names the choices."""
        assert "nothing to export" in await say(bot, "/export", 1)
        assert "/export json" in await say(bot, "/export pdf", 2)
        assert bot.telegram.calls_of("sendDocument") == []


class TestCommandMenu:
    async def test_menu_has_the_controls(self, bot: RunningBot) -> None:
        """setMyCommands lists /persona, /system and /export with the other commands."""
        [call] = bot.telegram.calls_of("setMyCommands")
        names = [c["command"] for c in call.params["commands"]]
        assert {"persona", "system", "export"} <= set(names)
