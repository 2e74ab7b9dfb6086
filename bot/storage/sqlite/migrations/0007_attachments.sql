-- What a phone sends (issue 15): the attachments of a turn (photos, voice notes, audio, video
-- notes, documents) and a chat's /voice choice. A turn's question stays in turns.user_text (the
-- caption, or the default instruction); each attachment keeps its Telegram file id (so a turn
-- can be prepared again after a restart or a /retry), what was derived from it (a transcript or
-- a document's extracted text), and for images their bytes up to IMAGE_CACHE_MAX_BYTES, so
-- that a follow-up question does not download them again. Attachments go with their turn.

CREATE TABLE attachments (
    id        INTEGER PRIMARY KEY,
    turn_id   INTEGER NOT NULL REFERENCES turns (id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,              -- order within the turn (an album's photos)
    kind      TEXT    NOT NULL,              -- image, voice, document
    file_id   TEXT    NOT NULL,              -- the channel's id to fetch it again
    name      TEXT,                          -- a document's file name
    mime_type TEXT,
    size      INTEGER,                       -- bytes, as the channel announced them
    duration  INTEGER,                       -- seconds, for voice and audio
    text      TEXT,                          -- transcript or extracted text, once derived
    note      TEXT,                          -- what the user was told about it (truncation)
    data      BLOB                           -- an image's bytes, when within the cache bound
);

CREATE INDEX attachments_by_turn ON attachments (turn_id, position);

-- /voice: answers also read aloud in this chat (no row: off).
CREATE TABLE chat_media (
    chat_id       TEXT    PRIMARY KEY,
    voice_replies INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
