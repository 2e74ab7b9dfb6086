-- Conversation controls (issue 9): a chat's persona and custom system prompt, the rolling
-- summary of its older turns, and the per-model calibration of our token estimate.

-- Chat settings: they survive /clear (which forgets the conversation, not the chat's choices).
ALTER TABLE chats ADD COLUMN persona TEXT;
ALTER TABLE chats ADD COLUMN system_prompt TEXT;

-- One summary per chat, covering every answered turn up to and including covers_to.
-- /clear deletes it together with the turns.
CREATE TABLE chat_summaries (
    chat_id           TEXT    PRIMARY KEY,
    text              TEXT    NOT NULL,
    covers_to         INTEGER NOT NULL,
    updated_at        REAL    NOT NULL
);

-- UTF-8 bytes per token, learnt from the usage providers report, per model.
CREATE TABLE token_calibration (
    model             TEXT    PRIMARY KEY,
    bytes_per_token   REAL    NOT NULL,
    samples           INTEGER NOT NULL,
    updated_at        REAL    NOT NULL
);
