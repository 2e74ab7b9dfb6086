-- Usage added up per UTC day, for everyone and per user (issue 8, storage scaling).
-- Budgets read the day's and the month's usage before every message; summing the usage table
-- for that took time in proportion to the month's requests (60 ms per message with 1M stored
-- messages). These totals are updated in the same transaction as each usage row, so such a
-- read adds up at most 31 rows, however busy the bot is. `day` is the Unix time of the day's
-- 00:00 UTC.

CREATE TABLE usage_days (
    day               INTEGER PRIMARY KEY,
    requests          INTEGER NOT NULL,
    prompt_tokens     INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cost_usd          REAL    NOT NULL  -- priced requests only
);

CREATE TABLE usage_user_days (
    user_id           TEXT    NOT NULL,
    day               INTEGER NOT NULL,
    requests          INTEGER NOT NULL,
    prompt_tokens     INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cost_usd          REAL    NOT NULL,
    PRIMARY KEY (user_id, day)
) WITHOUT ROWID;

INSERT INTO usage_days
SELECT CAST(at / 86400 AS INTEGER) * 86400, COUNT(*), SUM(prompt_tokens),
       SUM(completion_tokens), COALESCE(SUM(cost_usd), 0)
FROM usage GROUP BY 1;

INSERT INTO usage_user_days
SELECT user_id, CAST(at / 86400 AS INTEGER) * 86400, COUNT(*), SUM(prompt_tokens),
       SUM(completion_tokens), COALESCE(SUM(cost_usd), 0)
FROM usage WHERE user_id IS NOT NULL GROUP BY 1, 2;
