"""Text that people type: normalised and checked before it is stored or printed. Pure.

Names, rooms and the other free-text fields are NFC-normalised (so "Lucía" typed two ways is
one name) and must not hold control characters (a CR/LF in a name broke the pass card) or
the bidirectional overrides and isolates that make text display other than it reads. Zero-
width joiners are part of some scripts and stay inside text, but a value made only of
invisible characters is blank.
"""

import unicodedata

from django.core.exceptions import ValidationError

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
LINE_BREAKS = frozenset("\n\r\t")


def text_normalise(value: str) -> str:
    """NFC, without surrounding white space or invisible characters."""
    text = unicodedata.normalize("NFC", value)
    start, end = 0, len(text)
    while start < end and _invisible(text[start]):
        start += 1
    while end > start and _invisible(text[end - 1]):
        end -= 1
    return text[start:end]


def _invisible(char: str) -> bool:
    # Direction controls are not trimmed: the validators refuse them wherever they stand.
    return char.isspace() or (unicodedata.category(char) == "Cf" and char not in BIDI_CONTROLS)


def validate_single_line(value: str) -> None:
    _validate(value, allowed=frozenset())


def validate_multiline(value: str) -> None:
    _validate(value, allowed=LINE_BREAKS)


def _validate(value: str, *, allowed: frozenset[str]) -> None:
    for char in value:
        if char in allowed:
            continue
        if char in BIDI_CONTROLS:
            raise ValidationError(
                "Remove the invisible text-direction character (U+%(code)04X).",
                code="bidi_control",
                params={"code": ord(char)},
            )
        if unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            raise ValidationError(
                "Remove the control character or line break (U+%(code)04X).",
                code="control_character",
                params={"code": ord(char)},
            )
    if value and not text_normalise(value):
        raise ValidationError("Enter visible text, not only invisible characters.", code="blank")
