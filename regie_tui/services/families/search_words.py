"""Normalised words for family search: accents and case folded, phones as digits.

A family is found by the words of its file (every name, phone, e-mail and invoice
number of the household), kept in the ``family_search_word`` table, and sorted by
``name_key``; both are built here so that the seed, the services that edit a family
and the search agree on one format.
"""

import re
from collections.abc import Iterable

from unidecode import unidecode

_NOT_SEARCHABLE = re.compile(r"[^a-z0-9@._+-]+")
_PHONE_LIKE = re.compile(r"^[\d\s.+-]+$")
MAX_WORD = 120  # the length of family_search_word.word


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


def search_words(
    *,
    names: Iterable[str],
    phones: Iterable[str] = (),
    emails: Iterable[str] = (),
    invoice_numbers: Iterable[str] = (),
) -> list[str]:
    """The family's search words, sorted, each once.

    A search term matches the start of a word (see :func:`search_terms`), so compound
    names and invoice numbers also give their parts: 'dubois', 'f261000012'.
    """
    words: set[str] = set()
    for text in (*names, *invoice_numbers):
        for word in fold(text).split():
            words.update(_with_parts(word))
    words.update(phone_digits(p) for p in phones if p)
    words.update(fold(e) for e in emails if e)
    return sorted(w[:MAX_WORD] for w in words if w)


#: The terms of one search taken into account (the first ones, each once).
MAX_TERMS = 10


def search_terms(query: str) -> list[str]:
    """The terms that must each start one of a family's words for the family to match."""
    query = query.strip()
    if not query:
        return []
    if _PHONE_LIKE.match(query) and sum(c.isdigit() for c in query) >= 4:
        return [phone_digits(query)]
    # Each term is one more condition of the query: a pasted page of words must not become
    # a statement too large for the database. Ten distinct terms narrow any search enough.
    return list(dict.fromkeys(fold(query).split()))[:MAX_TERMS]


def prefix_upper_bound(term: str) -> str:
    """The first string after every word starting with ``term``: 'mart' -> 'maru'.

    Words and terms are folded ASCII, so a prefix is a range of the (binary-ordered) index.
    """
    return term[:-1] + chr(ord(term[-1]) + 1)
