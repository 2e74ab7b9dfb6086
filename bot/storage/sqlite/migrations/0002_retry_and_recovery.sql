-- /retry and crash recovery.
-- A turn made by /retry names the turn it regenerates; when the new answer is delivered the old
-- turn is deleted in the same transaction, so the history holds the question once.
ALTER TABLE turns ADD COLUMN replaces INTEGER;

-- A chat's newest turns in any state (the turn /retry regenerates), without a scan.
CREATE INDEX turns_by_chat ON turns (chat_id, id);
