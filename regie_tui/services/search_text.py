"""Normalised text for family search: accents and case folded, phones as digits.

The family row keeps ``name_key`` (for sorting) and ``search_text`` (every name,
phone, e-mail and invoice number of the household), both built here so that the
seed, the services that edit a family and the search agree on one format.
"""

import re
from collections.abc import Iterable

from unidecode import unidecode

_NOT_SEARCHABLE = re.compile(r"[^a-z0-9@._+-]+")
_PHONE_LIKE = re.compile(r"^[\d\s.+-]+$")


def fold(text: str) -> str:
    """'Lefèvre-Dupont ' -> 'lefevre-dupont'."""
    return " ".join(_NOT_SEARCHABLE.sub(" ", unidecode(text).lower()).split())


def phone_digits(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    if digits.startswith("33") and len(digits) == 11:
        digits = "0" + digits[2:]
    return digits


def _with_parts(word: str) -> list[str]:
    """'martin-dubois' -> ['martin-dubois', 'dubois']: each part can start a search."""
    parts = word.split("-")
    return [word, *parts[1:]] if len(parts) > 1 else [word]


def build_search_text(
    *, names: Iterable[str], phones: Iterable[str] = (), emails: Iterable[str] = (),
    invoice_numbers: Iterable[str] = (),
) -> str:
    """The family's ``search_text``: folded words, each preceded by a space.

    A search term matches the start of a word (see :func:`search_terms`), so compound
    names and invoice numbers also carry their parts: 'dubois', 'f261000012'.
    """
    words: list[str] = []
    for text in (*names, *invoice_numbers):
        for word in fold(text).split():
            words.extend(_with_parts(word))
    words.extend(phone_digits(p) for p in phones if p)
    words.extend(fold(e) for e in emails if e)
    return " " + " ".join(w for w in words if w) + " "


def search_terms(query: str) -> list[str]:
    """The terms that must each start a word of ``search_text`` for a family to match."""
    query = query.strip()
    if not query:
        return []
    if _PHONE_LIKE.match(query) and sum(c.isdigit() for c in query) >= 4:
        return [phone_digits(query)]
    return fold(query).split()
