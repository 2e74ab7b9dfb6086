-- PostgreSQL only (numbered from 1001: the SQLite migrations' numbers stay theirs to port).
-- The webhook's durable inbox: an update is recorded here before Telegram is told 200, and
-- deleted once it has been handled. A replica that takes over (the old leader died with
-- updates still queued in its memory) handles what is left, in update_id order.
CREATE TABLE update_inbox (
    update_id    BIGINT  PRIMARY KEY,
    payload      TEXT    NOT NULL,
    received_at  DOUBLE PRECISION NOT NULL
);
