"""How residents are found and sorted: text folded for matching, and natural sort keys. Pure.

A resident's name, room and email are stored once more, folded, in one column
(``Resident.search_text``), and their phone as its digits alone (``phone_digits``); a search
is folded the same way and each of its words must occur somewhere in ``search_text``. So
"lucia" finds "Lucía" (and "LUCÍA" finds "Lucia"), "B-2" finds B-201 and B-214, "b201"
finds B-201, and "okafor ada" finds "Ada Okafor". Folding is casefolding without accents:
NFKD, combining marks dropped, a few letters that do not decompose spelled out (ø, ł, æ…).

A search made only of digits and phone punctuation, with at least ``PHONE_MIN_DIGITS``
digits, also looks for those digits in the phone: "07700900123" finds "+44 7700 900 123",
and the last four digits find it too. A whole number (``PHONE_WHOLE_DIGITS`` digits or
more) is looked for without its leading zeros (a trunk "0", an international "00"), since
the stored one may carry a country code instead (the other way round, "+44…" typed for a
number stored as "07700…", is not found). Fewer digits, and anything with a letter in it,
are a room or a name: a guard typing "201" or "B-201" wants that room, not every resident
whose phone holds a 201.

Sort keys are folded too, with every run of digits zero-padded to ``SORT_DIGITS``, so that
"Resident 2" sorts before "Resident 10" and "B-2" before "B-10" in any database.
"""

import re
import unicodedata
from dataclasses import dataclass

PHONE_MIN_DIGITS = 4
PHONE_WHOLE_DIGITS = 7
SORT_DIGITS = 10
SORT_KEY_LENGTH = 255  # the sort-key columns' max_length; longer keys are cut (ties sort on)

# Letters that NFKD leaves whole, as a reader would type them without the accent.
LETTERS = str.maketrans(
    {
        "ø": "o",
        "ł": "l",
        "đ": "d",
        "ħ": "h",
        "\u0131": "i",  # dotless i
        "ŧ": "t",
        "æ": "ae",
        "œ": "oe",
        "þ": "th",
    }
)
DIGIT_RUN = re.compile(r"[0-9]+")
PHONE_LIKE = re.compile(r"[0-9 +().\-/]+")
NOT_ALNUM = re.compile(r"[\W_]+")


def fold(text: str) -> str:
    """``text`` casefolded, without accents, its white space single spaces."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(bare.translate(LETTERS).split())


def digits(text: str) -> str:
    """The ASCII digits of ``text`` (after NFKD, so full-width digits count)."""
    return "".join(DIGIT_RUN.findall(unicodedata.normalize("NFKD", text)))


def search_text(*, name: str, room: str, email: str) -> str:
    """What a search looks in: name, room (also without its punctuation) and email, folded."""
    room = fold(room)
    compact = NOT_ALNUM.sub("", room)
    parts = [fold(name), room, compact if compact != room else "", fold(email)]
    return " ".join(part for part in parts if part)


def sort_key(text: str) -> str:
    """A key that sorts ``text`` naturally: folded, digit runs zero-padded."""
    padded = DIGIT_RUN.sub(lambda run: run[0].lstrip("0").rjust(SORT_DIGITS, "0"), fold(text))
    return padded[:SORT_KEY_LENGTH]


@dataclass(frozen=True)
class Query:
    """A search as typed, folded: ``terms`` must all occur in search_text; or, when it is a
    phone number, ``phone`` (digits, "" otherwise) must occur in phone_digits."""

    terms: tuple[str, ...]
    phone: str

    def __bool__(self) -> bool:
        return bool(self.terms or self.phone)


def query_parse(text: str) -> Query:
    terms = tuple(dict.fromkeys(fold(text).split()))  # in order, each once
    phone = ""
    if PHONE_LIKE.fullmatch(unicodedata.normalize("NFKD", text).strip() or "-"):
        number = digits(text)
        if len(number) >= PHONE_WHOLE_DIGITS:
            phone = number.lstrip("0")
        elif len(number) >= PHONE_MIN_DIGITS:
            phone = number
    return Query(terms=terms, phone=phone)
