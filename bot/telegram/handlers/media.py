"""Photos, albums, voice notes, audio, video notes and documents: stored with their question
and answered like text (the engine's media feature reads them; reply/media.py fetches them).

In groups a file is answered when the bot is addressed: a reply to the bot, or a mention in
the caption. A file refused by its size, length or kind gets one short answer and is never
downloaded. A sticker, video or location still gets the text-only note.
"""

from __future__ import annotations

from datetime import timedelta

from telegram import Message

from bot.engine.media import images
from bot.engine.media.errors import MediaError
from bot.engine.media.prompts import default_question
from bot.engine.text import clean_text
from bot.observability.logs import get_logger
from bot.storage.records import Attachment, AttachmentKind, Turn
from bot.telegram.handlers.chat import answer_new, new_turn, on_non_text
from bot.telegram.handlers.context import BotContext
from bot.telegram.handlers.incoming import Incoming
from bot.telegram.handlers.triggers import is_addressed, is_private, strip_mention
from bot.telegram.reply.answer import answer_turn
from bot.telegram.reply.outcome import settled

log = get_logger(__name__)


def attachment_of(message: Message, max_side: int) -> Attachment | None:
    """The file of a message the model can be given, or None (a sticker, a video…)."""
    if message.photo:
        sizes = [images.Size(p.file_id, p.width, p.height, p.file_size) for p in message.photo]
        best = images.best_size(sizes, max_side)
        return Attachment(
            AttachmentKind.IMAGE, best.file_id, "photo.jpg", "image/jpeg", best.file_size
        )
    if message.voice:
        v = message.voice
        return Attachment(
            AttachmentKind.VOICE,
            v.file_id,
            "voice.ogg",
            v.mime_type or "audio/ogg",
            v.file_size,
            _seconds(v.duration),
        )
    if message.audio:
        a = message.audio
        return Attachment(
            AttachmentKind.VOICE,
            a.file_id,
            a.file_name or "audio.mp3",
            a.mime_type,
            a.file_size,
            _seconds(a.duration),
        )
    if message.video_note:
        n = message.video_note
        return Attachment(
            AttachmentKind.VOICE,
            n.file_id,
            "video_note.mp4",
            "video/mp4",
            n.file_size,
            _seconds(n.duration),
        )
    if message.document:
        d = message.document
        kind = (
            AttachmentKind.IMAGE if d.mime_type in images.IMAGE_TYPES else AttachmentKind.DOCUMENT
        )
        return Attachment(kind, d.file_id, d.file_name, d.mime_type, d.file_size)
    return None


def _seconds(duration: int | timedelta) -> int:
    return int(duration.total_seconds()) if isinstance(duration, timedelta) else int(duration)


async def on_media(incoming: Incoming, context: BotContext) -> None:
    """A file for the bot: its turn stored with the file, then answered (an album once)."""
    message, svc = incoming.message, context.services
    if await _joined_album(incoming, context):
        return  # the next photo of an album: its caption (and mention) came with the first
    if not is_addressed(message, context.bot.bot):
        return
    media = svc.media
    found = None if media is None else attachment_of(message, media.policy.image_max_side)
    if media is None or found is None:
        await on_non_text(incoming, context)
        return
    try:
        media.admit(found)
    except MediaError as exc:
        log.info("media_refused", kind=found.kind.value, reason=exc.error_type, size=found.size)
        await message.reply_text(exc.user_message, do_quote=not is_private(message))
        return
    turn = await svc.conversation.submit(
        new_turn(incoming, context, _question(message, found, context))
    )
    if turn is None:
        return
    await media.attach(turn.id, [found])
    log.info("media_received", kind=found.kind.value, size=found.size, turn_id=turn.id)
    group = message.media_group_id
    if group is None:
        await answer_new(incoming, context, turn)
        return

    async def answer(album: Turn) -> None:
        async with settled(svc, album):
            await answer_turn(context.bot, svc, album, forum=bool(incoming.chat.is_forum))

    svc.albums.start(
        incoming.chat_key,
        group,
        turn,
        lock=incoming.base_key,
        locks=svc.conversation.locks,
        answer=answer,
    )


async def _joined_album(incoming: Incoming, context: BotContext) -> bool:
    """Whether the message is a further photo of an album still arriving (added to its turn;
    one that is refused, too large say, is left out with a log line)."""
    svc, group = context.services, incoming.message.media_group_id
    joined = None if group is None else svc.albums.turn_of(incoming.chat_key, group)
    if joined is None or svc.media is None:
        return False
    found = attachment_of(incoming.message, svc.media.policy.image_max_side)
    if found is None:
        return True
    try:
        svc.media.admit(found)
    except MediaError as exc:
        log.info("media_refused", kind=found.kind.value, reason=exc.error_type, size=found.size)
        return True
    await svc.media.attach(joined.id, [found])
    return True


def _question(message: Message, found: Attachment, context: BotContext) -> str:
    """The caption (without the bot's @mention), or the default question for the file."""
    caption = clean_text(message.caption or "")
    caption = caption.strip() if is_private(message) else strip_mention(caption, context.bot.bot)
    if caption:
        return caption
    user = message.from_user
    return default_question(found.kind, user.language_code if user else None)
