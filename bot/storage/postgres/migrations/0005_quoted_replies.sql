-- Quoted replies (SQLite 0005).
ALTER TABLE turns ADD COLUMN quote_text TEXT;
ALTER TABLE turns ADD COLUMN quote_author TEXT;
ALTER TABLE turns ADD COLUMN quote_own INTEGER NOT NULL DEFAULT 0;
