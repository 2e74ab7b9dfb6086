"""Size limits of bot/: no module over 300 lines, no function or method over 50 lines.

A module's size is its number of lines. A function's size is counted from its `def` line to
the last line of its body, both included; decorators above the `def` are not counted. Nested
functions are checked on their own too (and also count towards the function that holds them).
The test names every offender, so one run shows all there is to split.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOT = ROOT / "bot"
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 50


def _modules() -> list[Path]:
    return sorted(BOT.rglob("*.py"))


def _function_sizes(path: Path) -> list[tuple[str, int, int]]:
    """(qualified name, line of its `def`, lines from `def` to the body's end) per function."""
    found: list[tuple[str, int, int]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                end = child.end_lineno or child.lineno
                found.append((name, child.lineno, end - child.lineno + 1))
                visit(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(ast.parse(path.read_text(), str(path)), "")
    return found


class TestCodeShape:
    def test_no_module_is_over_the_limit(self) -> None:
        """Every module in bot/ has at most 300 lines."""
        too_long = [
            f"{path.relative_to(ROOT)}: {lines} lines"
            for path in _modules()
            if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
        ]
        assert not too_long, f"modules over {MAX_MODULE_LINES} lines:\n" + "\n".join(too_long)

    def test_no_function_is_over_the_limit(self) -> None:
        """Every function and method in bot/ spans at most 50 lines, decorators excluded."""
        too_long = [
            f"{path.relative_to(ROOT)}:{line} {name}: {size} lines"
            for path in _modules()
            for name, line, size in _function_sizes(path)
            if size > MAX_FUNCTION_LINES
        ]
        assert not too_long, f"functions over {MAX_FUNCTION_LINES} lines:\n" + "\n".join(too_long)

    def test_the_scan_sees_functions_and_methods(self) -> None:
        """The scan finds methods inside classes, so an empty result is not a blind scan."""
        names = {name for name, _, _ in _function_sizes(BOT / "wiring" / "__init__.py")}
        assert names, "no function found in bot/wiring/__init__.py"
        assert any("." in name for path in _modules() for name, _, _ in _function_sizes(path))
