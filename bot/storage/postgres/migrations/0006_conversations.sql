-- Several conversations in one chat or topic (SQLite 0006).

CREATE TABLE conversations (
    base_key     TEXT    NOT NULL,
    number       INTEGER NOT NULL CHECK (number >= 1),
    title        TEXT,
    created_at   DOUBLE PRECISION NOT NULL,
    last_used_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (base_key, number)
);

CREATE INDEX conversations_recent ON conversations (base_key, last_used_at);

CREATE TABLE current_conversations (
    base_key TEXT    PRIMARY KEY,
    number   INTEGER NOT NULL CHECK (number >= 1)
);
