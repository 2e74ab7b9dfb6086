"""Files before an answer: fetched from Telegram (getFile, bounded), prepared by the engine,
and what the user should see first (the transcript of a voice note, a cut document's note)."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Bot, MessageEntity
from telegram.error import BadRequest, TelegramError

from bot.engine import errors
from bot.engine.conversation import identity
from bot.engine.media import errors as media_errors
from bot.engine.media.service import Media
from bot.observability.logs import get_logger
from bot.storage.records import AttachmentKind, Turn
from bot.telegram.reply.delivery import send_text
from bot.telegram.reply.services import Services

log = get_logger(__name__)

EXPAND_AFTER = 200  # characters: a longer transcript is shown folded (expandable quote)
SHOWN_MAX = 3_500  # characters of a transcript shown (the message limit is 4096)


class TelegramFiles:
    """A `FileSource` on the Bot API: getFile, then the file URL; sizes checked on the way."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def fetch(self, file_id: str, *, max_bytes: int) -> bytes:
        try:
            file = await self._bot.get_file(file_id)
            if file.file_size is not None and file.file_size > max_bytes:
                raise media_errors.TooLarge(max_bytes)
            data = bytes(await file.download_as_bytearray())
        except BadRequest as exc:
            if "too big" in exc.message.lower():
                raise media_errors.TooLarge(max_bytes) from exc
            log.warning("media_download_failed", error=exc.message)
            raise media_errors.DownloadFailed() from exc
        except TelegramError as exc:
            log.warning("media_download_failed", error_type=type(exc).__name__)
            raise media_errors.DownloadFailed() from exc
        if len(data) > max_bytes:
            raise media_errors.TooLarge(max_bytes)
        return data


@dataclass(frozen=True)
class MediaTurn:
    """A turn with files, prepared: as stored now (its question with a transcript or a
    document's text), the model it is asked of, and whether it has images."""

    turn: Turn
    model: str
    images: bool

    def explain(self, media: Media, error: errors.ModelError) -> errors.ModelError:
        """A provider refusing a request with images most likely cannot see them."""
        if self.images and isinstance(error, errors.ModelRejected):
            return media.refused_images(self.model)
        return error


async def prepare_media(bot: Bot, svc: Services, turn: Turn) -> MediaTurn | None:
    """Prepare the turn's files (None: it has none); show transcripts and notes in its chat
    (quoting the file in groups). A file that cannot be read fails the turn (MediaError
    raised, with its user_message)."""
    media = svc.media
    if media is None:
        return None
    found = await media.of(turn)
    if not found:
        return None
    model = (await svc.conversation.profiles.resolve(turn.chat_id)).model
    try:
        prepared = await media.prepare(turn, TelegramFiles(bot), model=model)
    except media_errors.MediaError as exc:
        await svc.conversation.failed(turn, exc, model=model)
        raise
    where = identity.parse_telegram(turn.chat_id)
    chat_id, thread_id = where.chat_id, where.topic
    reply_to = int(turn.reply_to) if turn.reply_to and chat_id < 0 else None
    shown = [
        *(transcript_message(t) for t in prepared.transcripts),
        *((n, ()) for n in prepared.notes),
    ]
    for text, entities in shown:
        await send_text(
            bot,
            chat_id,
            text,
            entities=entities,
            reply_to=reply_to,
            thread_id=thread_id,
            max_wait=svc.telegram.flood_wait_max,
        )
    images = any(a.kind is AttachmentKind.IMAGE for a in found)
    return MediaTurn(await svc.conversation.current(turn.id) or turn, model, images)


def transcript_message(transcript: str) -> tuple[str, tuple[MessageEntity, ...]]:
    """🎤 and the transcript as a quote, folded (expandable) when long."""
    shown = transcript if len(transcript) <= SHOWN_MAX else transcript[:SHOWN_MAX] + "…"
    head = "🎤 "
    long = len(shown) > EXPAND_AFTER
    kind = MessageEntity.EXPANDABLE_BLOCKQUOTE if long else MessageEntity.BLOCKQUOTE
    offset = len(head.encode("utf-16-le")) // 2
    length = len(shown.encode("utf-16-le")) // 2
    return head + shown, (MessageEntity(kind, offset, length),)
