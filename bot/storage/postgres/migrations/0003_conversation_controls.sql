-- Conversation controls (SQLite 0003): persona, custom system prompt, rolling summary,
-- per-model token calibration.
ALTER TABLE chats ADD COLUMN persona TEXT;
ALTER TABLE chats ADD COLUMN system_prompt TEXT;

CREATE TABLE chat_summaries (
    chat_id           TEXT    PRIMARY KEY,
    text              TEXT    NOT NULL,
    covers_to         BIGINT  NOT NULL,
    updated_at        DOUBLE PRECISION NOT NULL
);

CREATE TABLE token_calibration (
    model             TEXT    PRIMARY KEY,
    bytes_per_token   DOUBLE PRECISION NOT NULL,
    samples           BIGINT  NOT NULL,
    updated_at        DOUBLE PRECISION NOT NULL
);
