"""docs/operations.md lists every log event the bot can emit, with its levels and fields.

The events are found by reading the source (every `log.<level>("event", ...)` call in bot/)
rather than by collecting what the test suite happened to log: a scan sees every event, also
those no test triggers, and does not depend on which tests ran or in what order. It is sound
because event names must be string literals (checked below), so nothing the bot logs at run
time can escape the scan; a scenario test confirms that what is logged is what was scanned.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jq

from tests.fakes.openai import Error
from tests.support.chats import PRIVATE, answer_in
from tests.support.running import LogCapture, RunningBot

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = ROOT / "docs" / "operations.md"
LEVELS = {"debug", "info", "warning", "error", "exception", "critical"}
NOT_FIELDS = {"exc_info", "stack_info"}


@dataclass
class Event:
    levels: set[str] = field(default_factory=set)
    fields: set[str] = field(default_factory=set)
    where: list[str] = field(default_factory=list)


def _is_logger(node: ast.expr) -> bool:
    """`log.info(...)`, `logger.info(...)` or `get_logger(__name__).info(...)`."""
    if isinstance(node, ast.Name):
        return node.id in {"log", "logger"}
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "get_logger"
    )


def scanned_events() -> dict[str, Event]:
    """Every event logged in bot/, with the levels and keyword fields it is logged with."""
    found: dict[str, Event] = {}
    for path in sorted((ROOT / "bot").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in LEVELS
                and _is_logger(node.func.value)
            ):
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            name = node.args[0] if node.args else None
            assert isinstance(name, ast.Constant) and isinstance(name.value, str), (
                f"{where}: the event name must be a string literal"
            )
            event = found.setdefault(name.value, Event())
            event.levels.add(node.func.attr)
            event.fields |= {kw.arg for kw in node.keywords if kw.arg and kw.arg not in NOT_FIELDS}
            event.where.append(where)
    return found


def catalogue() -> dict[str, Event]:
    """The rows of the events table in docs/operations.md."""
    rows: dict[str, Event] = {}
    row = re.compile(r"^\| `(?P<name>[a-z_]+)` \| (?P<levels>[a-z, ]+) \|(?P<fields>[^|]*)\|")
    text = CATALOGUE.read_text()
    table = text[text.index("### Events") :].split("\n#", 1)[0]
    for line in table.splitlines():
        if match := row.match(line):
            rows[match["name"]] = Event(
                levels={level.strip() for level in match["levels"].split(",")},
                fields=set(re.findall(r"`([a-z_]+)`", match["fields"])),
            )
    return rows


class TestLogCatalogue:
    def test_every_event_in_the_code_is_listed(self) -> None:
        """Each event the code logs has a row in docs/operations.md."""
        missing = {name: e.where for name, e in scanned_events().items() if name not in catalogue()}
        assert not missing, f"add these events to docs/operations.md: {missing}"

    def test_levels_and_fields_match(self) -> None:
        """Each event's levels and keyword fields in the code are those its row lists."""
        listed = catalogue()
        for name, event in scanned_events().items():
            row = listed.get(name)
            if row is None:
                continue  # reported by the test above
            assert event.levels <= row.levels, f"{name}: logged at {event.levels}, {event.where}"
            assert event.fields <= row.fields, f"{name}: fields {event.fields - row.fields}"

    def test_every_listed_event_exists(self) -> None:
        """No row describes an event the code no longer logs."""
        stale = set(catalogue()) - set(scanned_events())
        assert not stale, f"remove or rename in docs/operations.md: {sorted(stale)}"

    async def test_what_is_logged_was_scanned(self, bot: RunningBot, logs: LogCapture) -> None:
        """A scenario's events from the bot's own loggers are all found by the scan."""
        bot.telegram.send_private_text(PRIVATE, "hello")
        await answer_in(bot, PRIVATE, 1)
        bot.model.script(Error(500, "oops", headers={"retry-after": "0"}), Error(404, "no"))
        bot.telegram.send_private_text(PRIVATE, "fail")
        await answer_in(bot, PRIVATE, 2)
        await bot.restart()
        ours = {e["event"] for e in logs.events if e.get("logger", "").startswith("bot")}
        assert {"bot_started", "reply_finished", "model_retry", "bot_stopped"} <= ours
        assert ours <= set(scanned_events())


def recipes() -> list[tuple[bool, str]]:
    """(slurp, program) of each `jq` command in docs/operations.md."""
    found = []
    for line in CATALOGUE.read_text().splitlines():
        if line.startswith("jq "):
            flags, program = line[: line.index("'")], line[line.index("'") + 1 : line.rindex("'")]
            found.append(("-s" in flags.split(), program))
    return found


def run_recipe(slurp: bool, program: str, events: list[dict[str, Any]]) -> list[Any]:
    compiled = jq.compile(program)
    if slurp:
        return list(compiled.input_value(events).all())
    return [out for event in events for out in compiled.input_value(event).all()]


class TestJqRecipes:
    async def test_recipes_run_on_real_logs(self, bot: RunningBot, logs: LogCapture) -> None:
        """Each jq recipe runs on the bot's own log lines; the main ones find what they seek."""
        assert len(recipes()) >= 4
        await bot.restart(MODEL_PRICES="gpt-test=1/2")
        bot.telegram.send_private_text(PRIVATE, "hello")
        await answer_in(bot, PRIVATE, 1)
        bot.model.script(Error(503, "busy", headers={"retry-after": "0"}), Error(401, "bad key"))
        bot.telegram.send_private_text(PRIVATE, "fail")
        await answer_in(bot, PRIVATE, 2)
        await logs.wait_for("reply_finished", count=2)
        for slurp, program in recipes():
            results = run_recipe(slurp, program, logs.events)
            if "correlation_id ==" not in program:  # that one has a placeholder id
                assert results, program
