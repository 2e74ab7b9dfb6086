-- The first schema. Each later change is a new numbered file; PRAGMA user_version records
-- the last one applied, so an existing database upgrades in place without losing data.

CREATE TABLE chats (
    chat_id           TEXT PRIMARY KEY,
    model             TEXT,
    requests          INTEGER NOT NULL DEFAULT 0,
    prompt_tokens     INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd          REAL    NOT NULL DEFAULT 0,
    created_at        REAL    NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS REAL))
);

CREATE TABLE turns (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id           TEXT    NOT NULL,
    source_key        TEXT    UNIQUE,
    reply_to          TEXT,
    user_id           TEXT,
    speaker           TEXT,
    user_text         TEXT    NOT NULL,
    answer            TEXT,
    state             TEXT    NOT NULL
                      CHECK (state IN ('pending', 'generated', 'answered', 'failed')),
    error_type        TEXT,
    model             TEXT,
    created_at        REAL    NOT NULL,
    updated_at        REAL    NOT NULL
);

-- The context window is read through this index: cost independent of the chat's length.
CREATE INDEX turns_answered_by_chat ON turns (chat_id, id) WHERE state = 'answered';
CREATE INDEX turns_unfinished ON turns (id) WHERE state IN ('pending', 'generated');

-- One row per model request, for accounting that survives /clear.
CREATE TABLE usage (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id           TEXT    NOT NULL,
    user_id           TEXT,
    turn_id           INTEGER,
    model             TEXT    NOT NULL,
    prompt_tokens     INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cost_usd          REAL,
    estimated         INTEGER NOT NULL DEFAULT 0,
    at                REAL    NOT NULL
);
CREATE INDEX usage_by_time ON usage (at);
CREATE INDEX usage_by_user ON usage (user_id, at);
