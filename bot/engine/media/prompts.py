"""The question asked for a file sent without a caption, in the user's language.

Telegram tells the sender's interface language (``language_code``); the instruction is
written in it when known, so the model answers in that language too. English otherwise.
"""

from __future__ import annotations

from bot.storage.records import AttachmentKind

_IMAGE = {
    "en": "Describe this image, or respond to what it shows or asks.",
    "ru": "Опиши это изображение или ответь на то, что на нём показано или спрошено.",
    "uk": "Опиши це зображення або відповідай на те, що на ньому показано чи запитано.",
    "de": "Beschreibe dieses Bild oder antworte auf das, was es zeigt oder fragt.",
    "fr": "Décris cette image, ou réponds à ce qu'elle montre ou demande.",
    "es": "Describe esta imagen o responde a lo que muestra o pregunta.",
    "it": "Descrivi questa immagine o rispondi a ciò che mostra o chiede.",
    "pt": "Descreva esta imagem ou responda ao que ela mostra ou pergunta.",
}
_DOCUMENT = {
    "en": "Summarise this document.",
    "ru": "Кратко перескажи этот документ.",
    "uk": "Стисло перекажи цей документ.",
    "de": "Fasse dieses Dokument zusammen.",
    "fr": "Résume ce document.",
    "es": "Resume este documento.",
    "it": "Riassumi questo documento.",
    "pt": "Resuma este documento.",
}


def default_question(kind: AttachmentKind, language_code: str | None) -> str:
    """What a file without a caption asks ("" for a voice note: its words are the question)."""
    if kind is AttachmentKind.VOICE:
        return ""
    table = _IMAGE if kind is AttachmentKind.IMAGE else _DOCUMENT
    language = (language_code or "en").split("-")[0].lower()
    return table.get(language, table["en"])
