-- Usage added up per UTC day, for everyone and per user (SQLite 0004). `day` is the Unix
-- time of the day's 00:00 UTC: floor(), because a cast to an integer rounds in PostgreSQL.

CREATE TABLE usage_days (
    day               BIGINT  PRIMARY KEY,
    requests          BIGINT  NOT NULL,
    prompt_tokens     BIGINT  NOT NULL,
    completion_tokens BIGINT  NOT NULL,
    cost_usd          DOUBLE PRECISION NOT NULL
);

CREATE TABLE usage_user_days (
    user_id           TEXT    NOT NULL,
    day               BIGINT  NOT NULL,
    requests          BIGINT  NOT NULL,
    prompt_tokens     BIGINT  NOT NULL,
    completion_tokens BIGINT  NOT NULL,
    cost_usd          DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (user_id, day)
);

INSERT INTO usage_days
SELECT floor(at / 86400)::BIGINT * 86400, COUNT(*), SUM(prompt_tokens),
       SUM(completion_tokens), COALESCE(SUM(cost_usd), 0)
FROM usage GROUP BY 1;

INSERT INTO usage_user_days
SELECT user_id, floor(at / 86400)::BIGINT * 86400, COUNT(*), SUM(prompt_tokens),
       SUM(completion_tokens), COALESCE(SUM(cost_usd), 0)
FROM usage WHERE user_id IS NOT NULL GROUP BY 1, 2;
