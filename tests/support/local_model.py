"""Settings for the tests on the real bundled model (llama.cpp on the CPU)."""

from __future__ import annotations

# Small slots keep an over-long prompt cheap to tokenize; short answers keep the suite fast.
LOCAL_ENV = {
    "LOCAL_MODEL_CTX_SIZE": "512",
    "LOCAL_MODEL_PARALLEL": "2",
    "MAX_OUTPUT_TOKENS": "48",
    "TEMPERATURE": "0",
    "OPENAI_TIMEOUT": "120",
}
