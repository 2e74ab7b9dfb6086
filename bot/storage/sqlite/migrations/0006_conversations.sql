-- Several conversations in one chat or topic (issue 16, /new and /chats). A chat or topic
-- (its base key, "tg:<chat>" or "tg:<chat>:t<thread>") has conversations numbered from 1;
-- the turns and summary of conversation n >= 2 are stored under "<base key>:c<n>", those of
-- conversation 1 under the base key itself, as before. No stored key moves: every chat of an
-- older file is in its conversation 1 with its whole history, and a chat without rows here
-- has only conversation 1 (rows are written by /new, /chats and titles).

CREATE TABLE conversations (
    base_key     TEXT    NOT NULL,
    number       INTEGER NOT NULL CHECK (number >= 1),
    title        TEXT,
    created_at   REAL    NOT NULL,
    last_used_at REAL    NOT NULL,
    PRIMARY KEY (base_key, number)
) WITHOUT ROWID;

CREATE INDEX conversations_recent ON conversations (base_key, last_used_at);

-- The conversation a chat or topic is in now; no row: conversation 1.
CREATE TABLE current_conversations (
    base_key TEXT    PRIMARY KEY,
    number   INTEGER NOT NULL CHECK (number >= 1)
) WITHOUT ROWID;
