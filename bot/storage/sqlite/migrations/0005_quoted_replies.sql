-- Quoted replies (issue 16): the message a question replies to, or the part of it the user
-- quoted, stored with the turn so that recovery, /retry and later requests see the same
-- question. NULL for turns without a quote (every turn stored before this version).
-- 0005 is left to the conversation-identity migration of the same issue.

ALTER TABLE turns ADD COLUMN quote_text TEXT;
ALTER TABLE turns ADD COLUMN quote_author TEXT;
ALTER TABLE turns ADD COLUMN quote_own INTEGER NOT NULL DEFAULT 0;
