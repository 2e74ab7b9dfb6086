"""Bot API methods that create or change messages: send, edit, delete, drafts, documents."""

from __future__ import annotations

import time
from typing import Any

from tests.fakes._tg_models import ApiCall, ApiError, Draft, SentMessage, bad_request
from tests.fakes._tg_params import chat_id_of, int_param, required
from tests.fakes._tg_state import JsonDict, TelegramState
from tests.fakes._tg_text import parse_checked

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
NOT_MODIFIED = bad_request(
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
).description


def _reply_target(state: TelegramState, chat_id: int, call: ApiCall) -> int | None:
    """The replied message id from reply_parameters or reply_to_message_id, checked to exist."""
    params = call.params
    reply = params.get("reply_parameters")
    if isinstance(reply, dict):
        message_id, allow = reply.get("message_id"), reply.get("allow_sending_without_reply")
    else:
        message_id = params.get("reply_to_message_id")
        allow = params.get("allow_sending_without_reply")
    if message_id is None:
        return None
    if (chat_id, int(message_id)) not in state.known_messages:
        if allow:
            return None
        raise bad_request("message to be replied not found")
    return int(message_id)


def _markup(call: ApiCall) -> dict[str, Any] | None:
    """reply_markup, with inline button callback_data checked to be at most 64 bytes."""
    markup = call.params.get("reply_markup")
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if len(str(button.get("callback_data", "")).encode()) > 64:
                raise bad_request("BUTTON_DATA_INVALID")
    return markup


def send_message(state: TelegramState, call: ApiCall) -> JsonDict:
    """sendMessage."""
    chat_id, params = chat_id_of(state, call), call.params
    raw = params.get("text")
    text, entities = parse_checked(
        raw, params.get("parse_mode"), params.get("entities"), limit=TEXT_LIMIT
    )
    message = SentMessage(
        chat_id=chat_id,
        message_id=0,
        date=int(time.time()),
        text=text,
        entities=entities,
        reply_to_message_id=_reply_target(state, chat_id, call),
        reply_markup=_markup(call),
        thread_id=state.topics.checked(chat_id, call),
    )
    message.message_id = state.next_message_id(chat_id)
    state.store_sent(message)
    return state.sent_dict(message)


def _editable(state: TelegramState, call: ApiCall) -> SentMessage:
    if call.params.get("inline_message_id"):
        raise bad_request("inline messages are not supported by the fake server")
    chat_id, message_id = chat_id_of(state, call), int_param(call, "message_id")
    message = state.find_sent(chat_id, message_id)
    if message is None:
        if (chat_id, message_id) in state.known_messages:
            raise bad_request("message can't be edited")
        raise bad_request("message to edit not found")
    return message


def edit_message_text(state: TelegramState, call: ApiCall) -> JsonDict:
    """editMessageText (a call without reply_markup removes the inline keyboard, as in Telegram)."""
    message, params = _editable(state, call), call.params
    if message.document is not None:
        raise bad_request("there is no text in the message to edit")
    raw = params.get("text")
    text, entities = parse_checked(
        raw, params.get("parse_mode"), params.get("entities"), limit=TEXT_LIMIT
    )
    markup = _markup(call)
    if (text, entities, markup) == (message.text, message.entities, message.reply_markup):
        raise ApiError(400, NOT_MODIFIED)
    message.text, message.entities, message.reply_markup = text, entities, markup
    message.edits.append(text)
    message.edit_date = int(time.time())
    state.refresh(message)
    return state.sent_dict(message)


def edit_message_reply_markup(state: TelegramState, call: ApiCall) -> JsonDict:
    """editMessageReplyMarkup."""
    message = _editable(state, call)
    markup = _markup(call)
    if markup == message.reply_markup:
        raise ApiError(400, NOT_MODIFIED)
    message.reply_markup = markup
    message.edit_date = int(time.time())
    state.refresh(message)
    return state.sent_dict(message)


def delete_message(state: TelegramState, call: ApiCall) -> bool:
    """deleteMessage: any known message of the chat can be deleted once."""
    chat_id, message_id = chat_id_of(state, call), int_param(call, "message_id")
    if state.known_messages.pop((chat_id, message_id), None) is None:
        raise bad_request("message to delete not found")
    sent = state.find_sent(chat_id, message_id)
    if sent is not None:
        sent.deleted = True
    return True


def delete_messages(state: TelegramState, call: ApiCall) -> bool:
    """deleteMessages: deletes the known ones among message_ids, silently skips the rest."""
    chat_id = chat_id_of(state, call)
    for message_id in required(call, "message_ids"):
        state.known_messages.pop((chat_id, int(message_id)), None)
        sent = state.find_sent(chat_id, int(message_id))
        if sent is not None:
            sent.deleted = True
    return True


def send_message_draft(state: TelegramState, call: ApiCall) -> bool:
    """sendMessageDraft (Bot API 9.3): private chats only, non-zero draft_id, text rules."""
    chat_id, params = chat_id_of(state, call), call.params
    if chat_id <= 0:
        raise bad_request("message drafts can be sent only to private chats")
    draft_id = int_param(call, "draft_id")
    if draft_id == 0:
        raise bad_request("draft_id must be non-zero")
    raw = params.get("text")
    text, entities = parse_checked(
        raw, params.get("parse_mode"), params.get("entities"), limit=TEXT_LIMIT
    )
    thread = state.topics.checked(chat_id, call)
    draft = Draft(chat_id, draft_id, text, entities, call.at, thread_id=thread)
    state.store_draft(draft)
    return True


def send_document(state: TelegramState, call: ApiCall) -> JsonDict:
    """sendDocument: an uploaded file (multipart) or a file_id / URL string."""
    chat_id, params = chat_id_of(state, call), call.params
    document = call.files.get("document") or params.get("document")
    if not document:
        raise bad_request("there is no document in the request")
    reply_to, markup = _reply_target(state, chat_id, call), _markup(call)
    raw = params.get("caption")
    caption, entities = parse_checked(
        raw,
        params.get("parse_mode"),
        params.get("caption_entities"),
        limit=CAPTION_LIMIT,
        caption=True,
    )
    message = SentMessage(
        chat_id=chat_id,
        message_id=state.next_message_id(chat_id),
        date=int(time.time()),
        text=caption,
        entities=entities,
        reply_to_message_id=reply_to,
        reply_markup=markup,
        document=document,
        thread_id=state.topics.checked(chat_id, call),
    )
    state.store_sent(message)
    return state.sent_dict(message)


def answer_callback_query(state: TelegramState, call: ApiCall) -> bool:
    """answerCallbackQuery: each pushed query can be answered once."""
    query_id = str(required(call, "callback_query_id"))
    if query_id not in state.callback_queries or query_id in state.callback_answers:
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    state.callback_answers[query_id] = dict(call.params)
    return True
