"""Reading the portal's file: its non-blank lines, each parsed alone into a JSON object (or
rejected with one French reason), and the file as it is kept (rejected lines emptied).

A key given twice in one object is rejected, and so are ``NaN`` / ``Infinity``, a NUL
character, a lone surrogate, a line over 15 MB and nesting deeper than :data:`MAX_DEPTH`.
A UTF-8 byte-order mark at the very start of the file is ignored.
"""

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from regie_tui import formatting

#: A line longer than this is rejected unread: more than any legal one (a 10 MB document is
#: 13.4 MB in base64), and parsing it would only spend memory.
MAX_LINE_BYTES = 15 * 1024 * 1024
#: The deepest nesting of a legal line is 3 (a booking's cells); deeper is rejected, and a
#: line too deep for the JSON parser itself (100,000 "[") is rejected as well.
MAX_DEPTH = 8


@dataclass(frozen=True)
class Rejection:
    line: int  # 1-based, counting every line of the file, blank ones included
    id: str | None
    reason: str


@dataclass
class Parsed:
    """A line read as a JSON object: its number, the object, its ``id`` when valid, its fingerprint."""

    line: int
    obj: dict[str, Any]
    portal_id: str | None
    sha256: str


class _DuplicateKey(ValueError):
    """A key given twice in one JSON object (the line would be ambiguous)."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return obj


def _no_constant(name: str) -> Any:
    raise ValueError(name)


def canonical_sha256(obj: Any) -> str:
    """The fingerprint of a line: SHA-256 of its canonical JSON."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _valid_id(obj: dict[str, Any]) -> str | None:
    value = obj.get("id")
    return value if isinstance(value, str) and 1 <= len(value) <= 64 else None


_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_BRACKET = re.compile(r"[\[\]{}]")


def _too_deep(text: str) -> bool:
    """Whether brackets outside strings nest deeper than MAX_DEPTH, told before parsing:
    the JSON parser must never meet 100,000 "[" (its RecursionError leaves the interpreter
    unsteady)."""
    depth = 0
    for bracket in _BRACKET.finditer(_JSON_STRING.sub("", text)):
        depth += 1 if bracket.group() in "[{" else -1
        if depth > MAX_DEPTH:
            return True
    return False


def parse_line(number: int, raw: bytes) -> Parsed | Rejection:
    if len(raw) > MAX_LINE_BYTES:
        size = formatting.number(round(Decimal(len(raw)) / 1024 / 1024, 1))
        return Rejection(number, None, f"ligne trop longue ({size} Mo, 15 Mo au plus) : elle n'est pas lue.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Rejection(number, None, f"ligne non valide en UTF-8 (octet {exc.start + 1}).")
    if _too_deep(text):
        return Rejection(number, None, f"JSON trop imbriqué ({MAX_DEPTH} niveaux au plus).")
    try:
        obj = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except _DuplicateKey as exc:
        return Rejection(number, None, f"clé « {exc} » donnée deux fois.")
    except json.JSONDecodeError as exc:
        return Rejection(number, None, f"JSON invalide (colonne {exc.colno}).")
    except ValueError as exc:
        return Rejection(number, None, f"JSON invalide : {exc} n'est pas un nombre admis.")
    if not isinstance(obj, dict):
        return Rejection(number, None, "la ligne doit être un objet JSON { … }.")
    portal_id = _valid_id(obj)
    if "\\u0000" in text and _has_nul(obj):
        return Rejection(number, portal_id, "la ligne contient un caractère nul (\\u0000).")
    try:
        sha256 = canonical_sha256(obj)
    except UnicodeEncodeError:
        return Rejection(number, portal_id, "la ligne contient un caractère Unicode invalide (\\ud800 à \\udfff seul).")
    return Parsed(number, obj, portal_id, sha256)


def _has_nul(value: Any) -> bool:
    """Whether a NUL character hides in a key or string (PostgreSQL text cannot hold it)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def numbered_lines(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(1-based number, bytes) of each non-blank line."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if raw.strip():
            yield number, raw.rstrip(b"\r")


def without_rejected(data: bytes, rejected: Iterable[int]) -> bytes:
    """The file as it is kept: every rejected line emptied (the others keep their numbers),
    so that a rejected line's bytes never reach the database."""
    blank = set(rejected)
    if not blank:
        return data
    lines = data.split(b"\n")
    for number in blank:
        lines[number - 1] = b""
    return b"\n".join(lines)


def shown_filename(name: str) -> str:
    """A file's name fit to store: bytes that were not UTF-8 and control characters replaced."""
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return "".join("?" if not (ch.isprintable() or ch == " ") else ch for ch in text)[:200]
