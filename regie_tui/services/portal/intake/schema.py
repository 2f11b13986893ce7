"""The contract's shapes: the keys of each kind of line and their types, and the values every
kind checks alike (instants, days, texts). A failed check raises :class:`Rejected`.

Optional keys may be left out; when present they must have their type (null is not
"absent"). ``submitted_at`` and ``paid_at`` are date-times with an offset,
``…THH:MM[:SS[.ffffff]]`` then ``Z`` or ``±HH:MM``.
"""

import json
import re
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

from regie_tui import formatting

ISO_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2})")
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
EXAMPLE_INSTANT = "2026-11-23T08:15:00+01:00"


class Expect(NamedTuple):
    ok: Callable[[Any], bool]
    what: str  # French, after "doit être"


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


STRING = Expect(lambda x: isinstance(x, str), "une chaîne de caractères")
INTEGER = Expect(is_int, "un nombre entier")
INTEGER_OR_NULL = Expect(lambda x: x is None or is_int(x), "un nombre entier ou null")
LIST = Expect(lambda x: isinstance(x, list), "une liste")
OLD_VALUE = Expect(lambda x: x is None or isinstance(x, (str, bool)), "une chaîne, un booléen ou null")
NEW_VALUE = Expect(lambda x: x is None or isinstance(x, (str, bool, dict)), "une chaîne, un booléen, null ou un objet")

COMMON: dict[str, Expect] = {
    "id": STRING,
    "kind": STRING,
    "family": INTEGER,
    "account": STRING,
    "submitted_at": STRING,
}
# kind -> (required keys, optional keys), besides COMMON
KIND_KEYS: dict[str, tuple[dict[str, Expect], dict[str, Expect]]] = {
    "change": (
        {"entity": STRING, "entity_id": INTEGER_OR_NULL, "field": STRING, "old": OLD_VALUE, "new": NEW_VALUE},
        {},
    ),
    "new_child": (
        {"first_name": STRING, "last_name": STRING, "birth_date": STRING, "sex": STRING},
        {"school": STRING, "school_class": STRING},
    ),
    "enrolment": (
        {"child": INTEGER, "activity": INTEGER, "age_group": INTEGER},
        {"start_date": STRING, "end_date": STRING, "comment": STRING},
    ),
    "booking": ({"child": INTEGER, "cells": LIST}, {}),
    "document": (
        {"document_type": INTEGER, "filename": STRING, "media_type": STRING, "content_base64": STRING},
        {"child": INTEGER},
    ),
    "message": ({"subject": STRING, "body": STRING}, {"recipient": STRING}),
    "payment": (
        {"invoice": STRING, "amount_cents": INTEGER, "paid_at": STRING, "reference": STRING, "result": STRING},
        {},
    ),
    "login": ({}, {}),
}
CELL_KEYS = ("day", "unit", "action")


class Rejected(Exception):
    """One line refused; ``reason`` is the French sentence reported."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = _lower_first(reason)


def _lower_first(text: str) -> str:
    """Reasons follow "ligne N : ", so they start in lower case (but not an acronym: "PAI")."""
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        return text[0].lower() + text[1:]
    return text


def listing(keys: Iterable[str]) -> str:
    return ", ".join(f"« {k} »" for k in sorted(keys))


def check_keys(obj: dict[str, Any]) -> str:
    """The kind, once keys and types are right."""
    if "kind" not in obj:
        raise Rejected("clé manquante : « kind ».")
    kind = obj["kind"]
    if not isinstance(kind, str) or kind not in KIND_KEYS:
        raise Rejected(f"type de demande inconnu : {json.dumps(kind, ensure_ascii=False)}.")
    required, optional = KIND_KEYS[kind]
    expected = {**COMMON, **required, **optional}
    unknown = set(obj) - set(expected)
    if unknown:
        raise Rejected(f"clé(s) inconnue(s) pour « {kind} » : {listing(unknown)}.")
    missing = (set(COMMON) | set(required)) - set(obj)
    if missing:
        raise Rejected(f"clé(s) manquante(s) : {listing(missing)}.")
    for key, value in obj.items():
        expect = expected[key]
        if not expect.ok(value):
            extra = " (pas un booléen)" if isinstance(value, bool) and expect.what.startswith("un nombre") else ""
            raise Rejected(f"« {key} » doit être {expect.what}{extra}.")
    if not 1 <= len(obj["id"]) <= 64:
        raise Rejected("« id » : de 1 à 64 caractères.")
    return kind


def parse_instant(value: str, key: str) -> datetime:
    if not ISO_INSTANT.fullmatch(value):
        try:
            naive = datetime.fromisoformat(value).tzinfo is None
        except ValueError:
            naive = False
        if naive:
            raise Rejected(f"« {key} » : décalage horaire manquant (ex. {EXAMPLE_INSTANT}).")
        raise Rejected(f"« {key} » : « {value} » n'est pas une date-heure ISO 8601 (ex. {EXAMPLE_INSTANT}).")
    try:
        return datetime.fromisoformat(value).astimezone(UTC)
    except ValueError:
        raise Rejected(f"« {key} » : « {value} » n'est pas une date-heure valide.") from None


def parse_day(value: str, key: str) -> date:
    if ISO_DAY.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise Rejected(f"« {key} » : « {value} » n'est pas une date AAAA-MM-JJ valide.")


def clean_text(value: str, key: str, low: int, high: int) -> str:
    text = value.strip()
    if len(text) < low:
        raise Rejected(f"« {key} » est vide.")
    if len(text) > high:
        raise Rejected(f"« {key} » : {formatting.number(high)} caractères au plus.")
    return text
