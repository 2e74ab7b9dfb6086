"""Files with a question: checked before anything is stored, prepared (downloaded,
transcribed, read) before the model is asked, and shown to it (images as parts).

The channel fetches the bytes (a `FileSource`: Telegram's getFile); everything else is here,
so every channel handles a file the same way. Preparing runs in the conversation's own turn
(per-chat worker), so a slow download or transcription never holds up another chat; each
fetch is bounded in bytes and time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bot.engine.conversation.context import Content, ContentOf, turn_content
from bot.engine.media import documents, errors, images
from bot.engine.media.audio import AudioClient
from bot.engine.media.costs import MediaCosts
from bot.engine.media.policy import MediaPolicy
from bot.engine.media.speech import VoiceReplies
from bot.engine.models.capabilities import CapabilityMap
from bot.observability.logs import get_logger
from bot.storage.records import Attachment, AttachmentKind, Turn
from bot.storage.repositories import AttachmentRepository

log = get_logger(__name__)


class FileSource(Protocol):
    """Where a channel's files come from (Telegram: getFile and the file URL)."""

    async def fetch(self, file_id: str, *, max_bytes: int) -> bytes:
        """The file's bytes; raises MediaError (TooLarge, DownloadFailed)."""
        ...


@dataclass
class Prepared:
    """What preparing a turn found that the user should see before the answer."""

    transcripts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    heard: Attachment | None = None  # the recording transcribed last


class Media:
    """The media feature of the engine: checks, preparation, and the model's view."""

    def __init__(
        self,
        attachments: AttachmentRepository,
        policy: MediaPolicy,
        *,
        audio: AudioClient | None,
        capabilities: CapabilityMap,
        models: Sequence[str],
        costs: MediaCosts | None = None,
        voice: VoiceReplies | None = None,
    ) -> None:
        self._attachments = attachments
        self._costs = costs
        self.voice = voice  # /voice: answers read aloud
        self.policy = policy
        self._audio = audio
        self._capabilities = capabilities
        self._models = list(dict.fromkeys(m for m in models if m))

    def admit(self, attachment: Attachment) -> None:
        """Raise the MediaError that refuses a file before it is downloaded or stored."""
        policy = self.policy
        if not policy.enabled:
            raise errors.MediaDisabled()
        size = attachment.size or 0
        if size > policy.max_bytes:
            raise errors.TooLarge(policy.max_bytes)
        if attachment.kind is AttachmentKind.IMAGE and size > policy.image_max_bytes:
            raise errors.ImageTooLarge(policy.image_max_bytes)
        voice = attachment.kind is AttachmentKind.VOICE
        if voice and (attachment.duration or 0) > policy.voice_max_seconds:
            raise errors.TooLong(policy.voice_max_seconds)
        if attachment.kind is AttachmentKind.DOCUMENT and not documents.readable(
            attachment.name, attachment.mime_type
        ):
            raise errors.Unsupported()

    def can_see(self, model: str) -> None:
        """Raise CannotSeeImages unless `model` takes images (VISION_MODELS)."""
        if not self._capabilities.of(model).vision:
            raise errors.CannotSeeImages(model, self._capabilities.which(self._models, vision=True))

    def refused_images(self, model: str) -> errors.CannotSeeImages:
        """What to tell the user when the provider refused a request with images."""
        able = [m for m in self._capabilities.which(self._models, vision=True) if m != model]
        return errors.CannotSeeImages(model, able)

    async def attach(self, turn_id: int, attachments: Sequence[Attachment]) -> None:
        await self._attachments.add(turn_id, attachments)

    async def of(self, turn: Turn) -> list[Attachment]:
        """The turn's files; a /retry's are those of the turn it replaces (copied once)."""
        found = (await self._attachments.of_turns([turn.id])).get(turn.id, [])
        if not found and turn.replaces is not None:
            await self._attachments.copy(turn.replaces, turn.id)
            found = (await self._attachments.of_turns([turn.id])).get(turn.id, [])
        return found

    async def prepare(self, turn: Turn, source: FileSource, *, model: str) -> Prepared:
        """Download and derive what the turn's files need (once: kept with the turn).

        Raises a MediaError: the user is told why, the turn fails (its files are kept, so
        /retry works)."""
        found = await self.of(turn)
        prepared = Prepared()
        if any(a.kind is AttachmentKind.IMAGE for a in found):
            self.can_see(model)
        question = turn.user_text
        for attachment in found:
            question = await self._derive(attachment, source, question, prepared)
            if prepared.heard is attachment and self._costs is not None:
                heard_by, seconds = self.policy.transcription_model, attachment.duration or 0
                await self._costs.heard(turn.chat_id, turn.user_id, heard_by, seconds)
        pictures = [a for a in found if a.kind is AttachmentKind.IMAGE]
        if pictures and not images.is_marked(question):
            # Marked in the stored question, so /export and summaries know an image was there.
            assert pictures[0].id is not None
            await self._attachments.set_question(
                pictures[0].id, images.marked(question, len(pictures))
            )
        return prepared

    async def _derive(
        self, attachment: Attachment, source: FileSource, question: str, prepared: Prepared
    ) -> str:
        assert attachment.id is not None
        kind = attachment.kind
        if (kind is AttachmentKind.IMAGE and attachment.data is not None) or (
            kind is not AttachmentKind.IMAGE and attachment.text is not None
        ):
            return question  # derived before (a restart, a /retry)
        data = await self._fetch(source, attachment)
        if kind is AttachmentKind.IMAGE:
            await self._attachments.derive(attachment.id, text=None, note=None, data=data)
            return question
        if kind is AttachmentKind.VOICE:
            text = await self._transcribe(data, attachment)
            prepared.transcripts.append(text)
            prepared.heard = attachment
            question = "\n\n".join(part for part in (question, text) if part)
            note = None
        else:
            name = _safe_name(attachment.name)
            # In a thread: a long PDF takes seconds of CPU, which no other chat should wait for.
            read = await asyncio.to_thread(documents.extract, data, name, attachment.mime_type)
            cut = documents.cut(read, self.policy.document_max_tokens, name)
            if cut.note:
                prepared.notes.append(cut.note)
            question = f"{question}\n\n{documents.framed(name, cut.text, cut.note)}"
            text, note = cut.text, cut.note
        # One transaction: a restart never finds the text without the question built on it.
        await self._attachments.derive(
            attachment.id, text=text, note=note, data=None, question=question
        )
        return question

    async def _fetch(self, source: FileSource, attachment: Attachment) -> bytes:
        limit = self.policy.max_bytes
        if attachment.kind is AttachmentKind.IMAGE:
            limit = self.policy.image_max_bytes
        try:
            async with asyncio.timeout(self.policy.download_timeout):
                return await source.fetch(attachment.file_id, max_bytes=limit)
        except TimeoutError as exc:
            log.warning("media_download_timed_out", kind=attachment.kind.value)
            raise errors.DownloadFailed() from exc

    async def _transcribe(self, data: bytes, attachment: Attachment) -> str:
        if self._audio is None:
            raise errors.TranscriptionFailed()
        name = attachment.name or "voice.ogg"
        text = await self._audio.transcribe(
            data, filename=name, model=self.policy.transcription_model
        )
        if not text:
            raise errors.NothingHeard()
        return text

    def content_from(
        self, turns: Sequence[Turn], found: Mapping[int, Sequence[Attachment]]
    ) -> ContentOf | None:
        """The model's view of `turns` (history then the new one), given their attachments
        (`found`, by turn id; read with the turns, `TurnRepository.recent_with_attachments`):
        the images of the newest IMAGE_CONTEXT_TURNS + 1 turns as parts, older ones as a
        short placeholder."""
        pictures = {
            t.id: [a for a in found.get(t.id, ()) if a.kind is AttachmentKind.IMAGE] for t in turns
        }
        if not any(pictures.values()):
            return None
        in_view = {t.id for t in turns[-(self.policy.image_context_turns + 1) :]}

        def content(turn: Turn) -> Content:
            text, shown = turn_content(turn), pictures.get(turn.id, [])
            if not shown:
                return text
            if turn.id not in in_view or any(a.data is None for a in shown):
                return f"{text}\n{images.PLACEHOLDER}"
            parts = [images.image_part(a.data or b"", a.mime_type) for a in shown]
            return [images.text_part(text), *parts]

        return content


def _safe_name(name: str | None) -> str:
    """A file name as the model is shown it: one line, no quotes or angle brackets."""
    cleaned = "".join(c for c in (name or "document") if c.isprintable() and c not in '"<>')
    return cleaned[:120].strip() or "document"
