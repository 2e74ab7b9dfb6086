"""The Bot API methods the fake answers, except getUpdates (which waits, see telegram.py)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tests.fakes import _tg_messages as msgs
from tests.fakes._tg_models import ApiCall, bad_request
from tests.fakes._tg_params import chat_id_of, int_param, required
from tests.fakes._tg_state import JsonDict, TelegramState, command_key
from tests.fakes.telegram_files import get_file, send_voice

Handler = Callable[[TelegramState, ApiCall], Any]

_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
_ADMIN_RIGHTS = (
    "can_manage_chat", "can_delete_messages", "can_manage_video_chats", "can_restrict_members",
    "can_promote_members", "can_change_info", "can_invite_users", "can_post_stories",
    "can_edit_stories", "can_delete_stories", "can_pin_messages",
)  # fmt: skip


def get_me(state: TelegramState, call: ApiCall) -> JsonDict:
    """getMe."""
    return {
        **state.bot_user,
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


def set_webhook(state: TelegramState, call: ApiCall) -> bool:
    """setWebhook (plain http URLs are accepted so tests can use a local server)."""
    url, secret = str(call.params.get("url") or ""), call.params.get("secret_token")
    if secret is not None and not _SECRET_RE.fullmatch(str(secret)):
        raise bad_request("secret token contains unallowed characters")
    if call.params.get("drop_pending_updates"):
        state.updates.clear()
    if isinstance(call.params.get("allowed_updates"), list):
        state.allowed_updates = call.params["allowed_updates"]
    state.webhook_url, state.webhook_secret = url, (str(secret) if secret and url else None)
    return True


def delete_webhook(state: TelegramState, call: ApiCall) -> bool:
    """deleteWebhook."""
    if call.params.get("drop_pending_updates"):
        state.updates.clear()
    state.webhook_url, state.webhook_secret = "", None
    return True


def get_webhook_info(state: TelegramState, call: ApiCall) -> JsonDict:
    """getWebhookInfo."""
    info: JsonDict = {
        "url": state.webhook_url,
        "has_custom_certificate": False,
        "pending_update_count": len(state.updates),
    }
    if state.webhook_url:
        info["max_connections"] = 40
        if state.allowed_updates is not None:
            info["allowed_updates"] = state.allowed_updates
    return info


def set_my_commands(state: TelegramState, call: ApiCall) -> bool:
    """setMyCommands: 1-32 lowercase letters, digits or _; a 1-256 character description."""
    commands = required(call, "commands")
    if not isinstance(commands, list) or len(commands) > 100:
        raise bad_request("commands must be an array of at most 100 BotCommand")
    for command in commands:
        if not _COMMAND_RE.fullmatch(str(command.get("command", ""))):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(str(command.get("description", ""))) <= 256:
            raise bad_request("command description is empty or too long")
    key = command_key(call.params.get("scope"), call.params.get("language_code"))
    state.my_commands[key] = commands
    return True


def get_my_commands(state: TelegramState, call: ApiCall) -> list[JsonDict]:
    """getMyCommands."""
    return state.commands(call.params.get("scope"), str(call.params.get("language_code") or ""))


def delete_my_commands(state: TelegramState, call: ApiCall) -> bool:
    """deleteMyCommands."""
    key = command_key(call.params.get("scope"), call.params.get("language_code"))
    state.my_commands.pop(key, None)
    return True


def send_chat_action(state: TelegramState, call: ApiCall) -> bool:
    """sendChatAction (in a forum's General topic with message_thread_id 1, or none)."""
    state.topics.checked(chat_id_of(state, call), call, action=True)
    required(call, "action")
    return True


def get_chat(state: TelegramState, call: ApiCall) -> JsonDict:
    """getChat: a ChatFullInfo with the fields PTB requires."""
    gifts = ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription")
    return {
        **state.chat(chat_id_of(state, call)),
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {**dict.fromkeys(gifts, False), "gifts_from_channels": False},
    }


def _member(state: TelegramState, chat_id: int, user_id: int) -> JsonDict:
    user = state.user(user_id)
    if user_id not in state.chat_admins.get(chat_id, []):
        return {"status": "member", "user": user}
    return {
        "status": "administrator",
        "user": user,
        "can_be_edited": False,
        "is_anonymous": False,
        **dict.fromkeys(_ADMIN_RIGHTS, True),
    }


def get_chat_member(state: TelegramState, call: ApiCall) -> JsonDict:
    """getChatMember: administrator if set with set_chat_admins, else member."""
    return _member(state, chat_id_of(state, call), int_param(call, "user_id"))


def get_chat_administrators(state: TelegramState, call: ApiCall) -> list[JsonDict]:
    """getChatAdministrators: the users set with set_chat_admins (default: nobody)."""
    chat_id = chat_id_of(state, call)
    return [_member(state, chat_id, user_id) for user_id in state.chat_admins.get(chat_id, [])]


def _true(state: TelegramState, call: ApiCall) -> bool:
    return True


METHODS: dict[str, Handler] = {
    "getMe": get_me,
    "setWebhook": set_webhook,
    "deleteWebhook": delete_webhook,
    "getWebhookInfo": get_webhook_info,
    "setMyCommands": set_my_commands,
    "getMyCommands": get_my_commands,
    "deleteMyCommands": delete_my_commands,
    "sendChatAction": send_chat_action,
    "sendMessage": msgs.send_message,
    "editMessageText": msgs.edit_message_text,
    "editMessageReplyMarkup": msgs.edit_message_reply_markup,
    "deleteMessage": msgs.delete_message,
    "deleteMessages": msgs.delete_messages,
    "sendMessageDraft": msgs.send_message_draft,
    "sendDocument": msgs.send_document,
    "getFile": get_file,
    "sendVoice": send_voice,
    "answerCallbackQuery": msgs.answer_callback_query,
    "getChat": get_chat,
    "getChatMember": get_chat_member,
    "getChatAdministrators": get_chat_administrators,
    "setMyDescription": _true,
    "setMyShortDescription": _true,
    "setChatMenuButton": _true,
    "close": _true,
    "logOut": _true,
}
