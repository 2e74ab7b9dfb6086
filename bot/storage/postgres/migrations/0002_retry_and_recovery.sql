-- /retry and crash recovery (SQLite 0002).
ALTER TABLE turns ADD COLUMN replaces BIGINT;

CREATE INDEX turns_by_chat ON turns (chat_id, id);
