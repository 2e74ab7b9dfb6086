-- PostgreSQL only. Every replica answers (several replicas on one database): an update is
-- recorded in update_inbox with the conversation it belongs to, and one replica at a time
-- works on a conversation, the one holding its lease row below. A lease expires unless its
-- holder renews it (LEASE_SECONDS); an expired lease may be taken by any other replica, which
-- first finishes what the dead holder left (crash recovery), then the inbox's next updates.
-- Rows recorded before this migration have no key yet: the first replica to see them fills it
-- in from the update itself (bot/telegram/app/dispatch.py), so nothing recorded is lost.
ALTER TABLE update_inbox ADD COLUMN chat_key TEXT;
CREATE INDEX update_inbox_by_chat ON update_inbox (chat_key, update_id);
CREATE TABLE chat_leases (
    chat_key    TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  DOUBLE PRECISION NOT NULL,  -- the database's clock (Unix seconds)
    previous    TEXT NOT NULL DEFAULT ''    -- the holder it was taken from ('' if none)
);
CREATE INDEX chat_leases_by_holder ON chat_leases (holder);
