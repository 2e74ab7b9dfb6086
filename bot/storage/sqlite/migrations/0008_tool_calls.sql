-- Tool calls (issue 18): the calls the model made while answering a turn and their results
-- (cut to TOOL_RESULT_MAX_CHARS), as the compact JSON list of the messages the model was
-- given (assistant messages with tool_calls, then tool messages). Follow-up questions carry
-- them; /export shows them. NULL for turns without tool calls (every turn stored before this
-- version). It depends on nothing of 0007 (issue 15's attachments, added in parallel).

ALTER TABLE turns ADD COLUMN tool_calls TEXT;
