"""PROVIDERS_FILE: read into a typed catalogue, every problem reported at start-up (exit 2), and
without it the OPENAI_* / FALLBACK_* settings as the same one or two providers as before."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.config import ENV_NAMES, ConfigError, ModelSettings
from bot.config.providers import PRESETS, Catalogue, catalogue_from_env
from bot.config.providers_file import ProvidersFileError, load_catalogue
from bot.startup import load_checked_settings
from tests.support.cli import run_bot

GOOD = """\
default_model = "sonnet"

[[providers]]
name = "anthropic"
base_url = "https://api.anthropic.com/v1/"
api_key_env = "TEST_ANTHROPIC_KEY"
preset = "anthropic"
headers = { "anthropic-version" = "2023-06-01" }
timeout = 90
max_concurrency = 4

[providers.dialect]
max_tokens_field = "max_completion_tokens"

[[providers.models]]
id = "claude-sonnet-4-5"
name = "sonnet"
vision = true
reasoning = true
context_window = 200000
input_price = 3.0
output_price = 15.0

[[providers]]
name = "ollama"
base_url = "http://127.0.0.1:11434/v1"
preset = "ollama"

[[providers.models]]
id = "qwen3:8b"
"""

BAD = """\
default_model = "nowhere"

[[providers]]
name = "one"
base_url = "ftp://example.com"
api_key = "sk-in-the-file-SECRET-1"
api_key_env = "NOT SET"
preset = "mystery"
max_concurrency = 0

[[providers.models]]
id = "m"
vison = true
input_price = -1

[[providers]]
name = "one"
api_key_env = "UNSET_KEY_VARIABLE_17"

[[providers.models]]
id = "m"
"""


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("UNSET_KEY_VARIABLE_17", raising=False)
    return monkeypatch


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "providers.toml"
    path.write_text(text, encoding="utf-8")
    return path


class TestFile:
    def test_read_into_a_typed_catalogue(
        self, tmp_path: Path, clean_env: pytest.MonkeyPatch
    ) -> None:
        """Providers, their dialect (preset and overrides), headers, cap, and their models."""
        clean_env.setenv("TEST_ANTHROPIC_KEY", "sk-ant-1")
        catalogue = load_catalogue(write(tmp_path, GOOD), ("qwen3:8b",))
        anthropic, ollama = catalogue.providers
        assert catalogue.models == ("sonnet", "qwen3:8b")
        assert catalogue.default_model == "sonnet"
        assert catalogue.fallback_models == ("qwen3:8b",)
        assert anthropic.api_key == SecretStr("sk-ant-1")
        assert anthropic.headers == (("anthropic-version", "2023-06-01"),)
        assert (anthropic.timeout, anthropic.max_concurrency) == (90.0, 4)
        assert anthropic.dialect.max_tokens_field == "max_completion_tokens"
        assert anthropic.dialect.temperature == PRESETS["anthropic"].temperature
        [sonnet] = anthropic.models
        assert (sonnet.id, sonnet.vision, sonnet.tools, sonnet.reasoning) == (
            "claude-sonnet-4-5", True, None, True,
        )  # fmt: skip
        assert catalogue.prices()["sonnet"].output_per_m == 15.0
        assert ollama.api_key is None and ollama.max_concurrency is None
        assert catalogue.find("qwen3:8b") == (ollama, ollama.models[0])

    def test_every_problem_reported_together(
        self, tmp_path: Path, clean_env: pytest.MonkeyPatch
    ) -> None:
        """Each problem of the file is listed, with where it is, those across entries too;
        the key is never echoed."""
        with pytest.raises(ProvidersFileError) as caught:
            load_catalogue(write(tmp_path, BAD))
        problems = "\n".join(caught.value.problems)
        for expected in (
            "providers[0] (one).base_url: ",
            "providers[0] (one).api_key: keys never go in the file",
            "providers[0] (one).api_key_env: ",
            "providers[0] (one).preset: ",
            "providers[0] (one).max_concurrency: ",
            "providers[0] (one).models[0].vison: is not a known setting",
            "providers[0] (one).models[0].input_price: ",
            "providers: the name 'one' is used twice",
            "models: the name 'm' is used twice",
            "UNSET_KEY_VARIABLE_17 is not set",
            "default_model: 'nowhere' is not in the catalogue",
        ):
            assert expected in problems
        assert "SECRET" not in problems

    def test_names_keys_and_models_checked_across_entries(
        self, tmp_path: Path, clean_env: pytest.MonkeyPatch
    ) -> None:
        """Names used twice, a key variable not set, an unknown default or fallback."""
        text = BAD.replace('api_key = "sk-in-the-file-SECRET-1"\n', "")
        for bad in ('base_url = "ftp://example.com"\n', 'api_key_env = "NOT SET"\n',
                    'preset = "mystery"\n', "max_concurrency = 0\n", "vison = true\n",
                    "input_price = -1\n"):  # fmt: skip
            text = text.replace(bad, "")
        with pytest.raises(ProvidersFileError) as caught:
            load_catalogue(write(tmp_path, text), ("ghost",))
        assert caught.value.problems == [
            "providers: the name 'one' is used twice",
            "models: the name 'm' is used twice (give one of them another `name`)",
            "providers (one).api_key_env: UNSET_KEY_VARIABLE_17 is not set in the environment "
            "or .env",
            "default_model: 'nowhere' is not in the catalogue",
            "FALLBACK_MODELS: 'ghost' is not in the catalogue",
        ]

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("providers = [", "not valid TOML"),
            ("", "providers: Field required"),
            ("[[providers]]\nname = 'x'\nmodels = []\n", "providers[0] (x).models: "),
        ],
    )
    def test_unusable_files(self, tmp_path: Path, text: str, expected: str) -> None:
        """A file that is not TOML, names no provider, or a provider without models."""
        with pytest.raises(ProvidersFileError) as caught:
            load_catalogue(write(tmp_path, text))
        assert expected in caught.value.problems[0]

    def test_missing_file(self, tmp_path: Path) -> None:
        """A file that cannot be read says so."""
        with pytest.raises(ProvidersFileError, match="cannot read"):
            load_catalogue(tmp_path / "absent.toml")


class TestStartup:
    def test_invalid_file_exits_2_with_all_problems(self, tmp_path: Path) -> None:
        """`python -m bot` with a broken PROVIDERS_FILE lists all its problems; exit 2."""
        path = write(tmp_path, BAD)
        env = {"TELEGRAM_BOT_TOKEN": "123:abc", "PROVIDERS_FILE": str(path)}
        result = run_bot(env, tmp_path)
        assert result.returncode == 2
        assert result.stderr.count("PROVIDERS_FILE: ") == 11
        assert "vison" in result.stderr and "base_url" in result.stderr
        assert "SECRET" not in result.stderr + result.stdout
        assert "Traceback" not in result.stderr

    def test_fallback_model_and_models_together(self, clean_env: pytest.MonkeyPatch) -> None:
        """FALLBACK_MODEL and FALLBACK_MODELS are one setting in two forms: not both."""
        clean_env.setenv("OPENAI_API_KEY", "sk-1")
        clean_env.setenv("FALLBACK_MODEL", "a")
        clean_env.setenv("FALLBACK_MODELS", "b,c")
        with pytest.raises(ConfigError, match="FALLBACK_MODEL and FALLBACK_MODELS"):
            load_checked_settings(require_telegram=False, env_file=None)

    def test_fallback_endpoint_with_a_file(
        self, clean_env: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        """FALLBACK_BASE_URL with PROVIDERS_FILE would be ignored: refused, with what to do."""
        clean_env.setenv("TEST_ANTHROPIC_KEY", "k")
        clean_env.setenv("PROVIDERS_FILE", str(write(tmp_path, GOOD)))
        clean_env.setenv("FALLBACK_MODEL", "sonnet")
        clean_env.setenv("FALLBACK_BASE_URL", "http://127.0.0.1:9/v1")
        with pytest.raises(ConfigError, match="put the fallback's provider in the file"):
            load_checked_settings(require_telegram=False, env_file=None)


class TestWithoutFile:
    def test_openai_settings_are_one_provider(self) -> None:
        """OPENAI_* become one provider with the same models, default, timeout and retries."""
        model = ModelSettings(
            openai_api_key=SecretStr("sk-1"),
            openai_base_url="http://127.0.0.1:9/v1",
            openai_model="a",
            openai_models=("b", "c"),
            openai_timeout=12,
            openai_max_retries=1,
        )
        catalogue = catalogue_from_env(model)
        [provider] = catalogue.providers
        assert isinstance(catalogue, Catalogue)
        assert (catalogue.models, catalogue.default_model) == (("a", "b", "c"), "a")
        assert (provider.base_url, provider.api_key) == ("http://127.0.0.1:9/v1", SecretStr("sk-1"))
        assert (provider.timeout, provider.max_retries, provider.max_concurrency) == (12, 1, None)
        assert provider.dialect.stream_options and provider.dialect.max_tokens_field == "max_tokens"

    def test_fallback_endpoint_is_a_second_provider(self) -> None:
        """FALLBACK_BASE_URL / FALLBACK_API_KEY: the fallback on a provider of its own, not
        offered in /model."""
        model = ModelSettings(
            openai_api_key=SecretStr("sk-1"),
            fallback_model="backup",
            fallback_api_key=SecretStr("sk-2"),
        )
        catalogue = catalogue_from_env(model, ("backup",))
        primary, fallback = catalogue.providers
        assert primary.models[0].offered
        assert catalogue.models == ("gpt-4o-mini",)
        assert fallback.api_key == SecretStr("sk-2") and fallback.base_url is None
        assert [(m.name, m.offered) for m in fallback.models] == [("backup", False)]
        assert catalogue.secrets() == ["sk-1", "sk-2"]


class TestExample:
    def test_shipped_example_is_valid(self, clean_env: pytest.MonkeyPatch) -> None:
        """providers.example.toml (OpenAI, Anthropic, Gemini, a local Ollama) loads as is."""
        for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"):
            clean_env.setenv(name, f"key-of-{name}")
        root = Path(__file__).resolve().parents[1]
        catalogue = load_catalogue(root / "providers.example.toml")
        assert [p.name for p in catalogue.providers] == ["openai", "anthropic", "gemini", "local"]
        assert "claude-sonnet" in catalogue.models and catalogue.default_model == "gpt-4o-mini"
        assert catalogue.providers[-1].api_key is None
