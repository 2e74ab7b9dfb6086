-- Tool calls (SQLite 0008): the calls the model made while answering a turn and their results,
-- as compact JSON; NULL for turns without tool calls.
ALTER TABLE turns ADD COLUMN tool_calls TEXT;
