"""Checks of the values a family file holds, with the French message an agent reads.

One place for what a valid e-mail, French phone number, postal code, birth date, name,
IBAN or BIC is: the portal import, the bannette and the family forms all call these. And
for any input an agent types, from the CLI or a screen: free text (its characters, its
length against the column that stores it), dates (in the régie's years), amounts, and a
file said to be a PDF or an image (its content says so).
Each ``check_*`` returns the value as it should be stored (trimmed, normalised) or raises
``InvalidValue`` with a French message naming the problem.
"""

import re
import unicodedata
from datetime import date
from pathlib import PurePath
from typing import Any

from regie_tui import formatting
from regie_tui.errors import RegieError

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
POSTAL_CODE = re.compile(r"^(?:0[1-9]|[1-8]\d|9[0-8])\d{3}$")  # metropolitan France, Corsica (20…), overseas (97…, 98…)
PHONE_DIGITS = re.compile(r"^0[1-9]\d{8}$")


#: The files families send and the service publishes: their media type and first bytes.
FILE_SIGNATURES = {
    "application/pdf": b"%PDF-",
    "image/jpeg": b"\xff\xd8\xff",
    "image/png": b"\x89PNG\r\n\x1a\n",
}
MAX_FILE_BYTES = 10 * 1024 * 1024
#: What a file's name says it is (its extension), to be confirmed by its content.
EXTENSION_MEDIA = {".pdf": "application/pdf", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}
MEDIA_NAMES = {"application/pdf": "un PDF", "image/jpeg": "une image JPEG", "image/png": "une image PNG"}

#: The years of the régie's work: a date typed outside them (9999, 0001) is a typo, refused
#: before any computation on it overflows. Every date the CLI and the screens parse goes
#: through :func:`parse_date`, so this is the one place they are set.
FIRST_YEAR, LAST_YEAR = 2000, 2099
#: The largest amount typed anywhere (a payment, a rate, a credit note): 1 000 000 €.
MAX_AMOUNT_CENTS = 100_000_000

#: Characters refused in any text (Unicode categories): control characters (NUL included),
#: lone surrogates (bytes that were not UTF-8), private-use characters; and, in a one-line
#: text, line and paragraph separators. Newline and tab are allowed in multi-line texts only.
_REFUSED_CATEGORIES = {"Cc", "Cs", "Co"}
_ONE_LINE_REFUSED = {"Zl", "Zp"}
#: Bidirectional overrides and isolates: they make a text read otherwise than it is stored.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def sniff_media_type(content: bytes) -> str | None:
    """The media type the file's first bytes say (PDF, JPEG, PNG), or None."""
    return next((media for media, magic in FILE_SIGNATURES.items() if content.startswith(magic)), None)


class InvalidValue(RegieError):
    """A value refused by a field's rule; ``message`` is French and says why."""


def check_characters(value: str, label: str, *, multiline: bool = False) -> str:
    """``value`` unchanged, or ``InvalidValue`` if it holds a character no text of the régie
    may hold (see :data:`_REFUSED_CATEGORIES`); ``multiline`` allows newlines and tabs."""
    for ch in value:
        if ch.isprintable() and ch not in _BIDI_CONTROLS:
            continue  # the common case, fast: letters, digits, punctuation, spaces…
        if multiline and ch in "\n\t":
            continue
        category = unicodedata.category(ch)
        if (
            category in _REFUSED_CATEGORIES
            or ch in _BIDI_CONTROLS
            or (category in _ONE_LINE_REFUSED or ch in "\n\t")
            and not multiline
        ):
            named = {"\n": "retour à la ligne", "\t": "tabulation", "\x00": "caractère nul"}.get(ch)
            what = f"{named} non admis" if named else f"caractère non admis (U+{ord(ch):04X})"
            raise InvalidValue(f"{label} : {what}.")
    return value


def column_length(column: Any) -> int | None:
    """The length of a model's string column (``Field(max_length=…)``), e.g. ``CreditNote.reason``."""
    length = getattr(getattr(column, "type", None), "length", None)
    return length if isinstance(length, int) else None


def check_length(value: str, label: str, *, column: Any = None, max_length: int | None = None) -> str:
    """``value`` unchanged, or ``InvalidValue`` if longer than ``max_length`` or the column's
    length: checked before the database, so SQLite (which stores it) and PostgreSQL (which
    raises) give the same French message."""
    limit = max_length if max_length is not None else column_length(column)
    if limit is not None and len(value) > limit:
        raise InvalidValue(
            f"{label} : {formatting.number(limit)} caractères au plus ({formatting.number(len(value))} saisis)."
        )
    return value


def check_text(
    value: str,
    label: str,
    *,
    column: Any = None,
    max_length: int | None = None,
    required: bool = True,
    multiline: bool = False,
) -> str:
    """Free text typed by an agent (a reason, a name, a reference, a title…) as it is stored:
    trimmed, required unless told, no control character (newlines and tabs only in a
    ``multiline`` text), no longer than ``max_length`` or ``column`` (a model's attribute)."""
    text = value.replace("\r\n", "\n").strip() if multiline else value.strip()
    if required and not text:
        raise InvalidValue(f"{label} : obligatoire.")
    check_characters(text, label, multiline=multiline)
    return check_length(text, label, column=column, max_length=max_length)


def check_year(day: date, label: str = "Date", *, shown: str | None = None) -> date:
    """``day``, or ``InvalidValue`` if outside the régie's years (:data:`FIRST_YEAR` to :data:`LAST_YEAR`)."""
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        shown = shown or f"{day.day:02d}/{day.month:02d}/{day.year:04d}"
        raise InvalidValue(f"{label} : {shown} est hors des années de la régie ({FIRST_YEAR} à {LAST_YEAR}).")
    return day


def check_file_content(content: bytes, name: str) -> str:
    """The media type of a file an agent gives (PDF, JPEG, PNG), confirmed by its content:
    its first bytes (as the portal's documents are checked), and the name's extension agreeing
    with them: a "PDF" that is an image, or nothing of the kind, is refused."""
    media_type = sniff_media_type(content)
    if media_type is None:
        raise InvalidValue(
            f"Le fichier « {name} » n'est ni un PDF, ni une image JPEG ou PNG (son contenu ne le montre pas)."
        )
    said = EXTENSION_MEDIA.get(PurePath(name).suffix.lower())
    if said is not None and media_type != said:
        raise InvalidValue(f"Le fichier « {name} » n'est pas {MEDIA_NAMES[said]} : c'est {MEDIA_NAMES[media_type]}.")
    return media_type


def check_required(value: str, label: str) -> str:
    text = value.strip()
    if not text:
        raise InvalidValue(f"{label} : obligatoire.")
    return text


def check_name(value: str, label: str = "Nom") -> str:
    """A person's or family's name: required, letters with spaces, hyphens and apostrophes."""
    text = " ".join(check_characters(check_required(value, label), label).split())
    if any(ch.isdigit() for ch in text) or not any(ch.isalpha() for ch in text):
        raise InvalidValue(f"{label} : « {text} » n'est pas un nom valide.")
    return text


def check_email(value: str, *, required: bool = False) -> str:
    text = value.strip()
    if not text and not required:
        return ""
    if not EMAIL.match(text):
        raise InvalidValue(f"Adresse e-mail invalide : « {text} ».")
    return text.lower()


def check_phone(value: str, *, required: bool = False) -> str:
    """A French phone number, stored as '06 11 22 33 44' (+33 accepted on input)."""
    text = value.strip()
    if not text and not required:
        return ""
    digits = re.sub(r"[\s.\-]", "", text)
    if digits.startswith("+33"):
        digits = "0" + digits[3:]
    elif digits.startswith("0033"):
        digits = "0" + digits[4:]
    if not PHONE_DIGITS.match(digits):
        raise InvalidValue(f"Numéro de téléphone invalide : « {text} » (10 chiffres, ex. 06 12 34 56 78).")
    return " ".join(digits[i : i + 2] for i in range(0, 10, 2))


def check_postal_code(value: str, *, required: bool = False) -> str:
    text = value.strip().replace(" ", "")
    if not text and not required:
        return ""
    if not POSTAL_CODE.match(text):
        raise InvalidValue(f"Code postal invalide : « {value.strip()} » (5 chiffres).")
    return text


def parse_date(value: str, label: str = "Date") -> date:
    """A date typed as 'JJ/MM/AAAA' (the desk) or 'AAAA-MM-JJ' (the portal), in the régie's
    years (:func:`check_year`)."""
    text = value.strip()
    try:
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            return check_year(date.fromisoformat(text), label)
        match = re.fullmatch(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})", text)
        if match:
            day, month, year = (int(part) for part in match.groups())
            return check_year(date(year, month, day), label)
    except ValueError:
        pass
    raise InvalidValue(f"{label} : « {text[:40]} » n'est pas une date valide (JJ/MM/AAAA).")


def parse_month(value: str, label: str = "Mois") -> date:
    """A month typed 'AAAA-MM' (or 'MM/AAAA'): its first day, in the régie's years."""
    text = value.strip()
    match = re.fullmatch(r"([0-9]{4})-([0-9]{1,2})", text) or re.fullmatch(r"([0-9]{1,2})/([0-9]{4})", text)
    if match is not None:
        year, month = (int(part) for part in (match.groups() if "-" in text else reversed(match.groups())))
        if 1 <= month <= 12:
            return check_year(date(year, month, 1), label, shown=f"{month:02d}/{year:04d}")
    raise InvalidValue(f"Mois invalide : « {text[:40]} » (attendu AAAA-MM, par exemple 2026-11).")


def parse_money(value: str, label: str = "Montant", *, positive: bool = True) -> int:
    """An amount typed French style ('12,50', '12.50', '1 234,5', '12 €') in cents.

    ``positive``: zero is refused (a payment, a credit note); a rate may be free. Never
    negative, never more than two decimals, never above :data:`MAX_AMOUNT_CENTS`."""
    text = re.sub(r"[\s\u00a0\u202f€]", "", value)
    match = re.fullmatch(r"([0-9]{1,9})(?:[,.]([0-9]{1,2}))?", text)
    if not match:
        raise InvalidValue(f"{label} : « {value.strip()[:40]} » n'est pas un montant (par exemple 12,50).")
    cents = int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))
    if positive and cents <= 0:
        raise InvalidValue(f"{label} : le montant doit être supérieur à zéro.")
    if cents > MAX_AMOUNT_CENTS:
        raise InvalidValue(f"{label} : {formatting.money(MAX_AMOUNT_CENTS)} au plus.")
    return cents


def check_birth_date(value: date, *, today: date, max_age: int | None = None) -> date:
    """A birth date in the past; for a child (``max_age=18``), under that age today."""
    if value >= today:
        raise InvalidValue("Date de naissance : elle doit être dans le passé.")
    if max_age is not None and age_on(value, today) >= max_age:
        raise InvalidValue(f"Date de naissance : un enfant doit avoir moins de {max_age} ans.")
    return value


def age_on(birth_date: date, day: date) -> int:
    """Age in whole years on ``day``."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def check_iban(value: str) -> str:
    """An IBAN with a valid checksum, stored compact ('FR7630006000011234567890189')."""
    from schwifty import IBAN
    from schwifty.exceptions import SchwiftyException

    text = value.strip()
    try:
        return str(IBAN(text).compact)
    except SchwiftyException:
        raise InvalidValue(f"IBAN invalide : « {text} ».") from None


def check_bic(value: str, *, required: bool = False) -> str:
    from schwifty import BIC
    from schwifty.exceptions import SchwiftyException

    text = value.strip().upper().replace(" ", "")
    if not text and not required:
        return ""
    try:
        return str(BIC(text))
    except SchwiftyException:
        raise InvalidValue(f"BIC invalide : « {value.strip()} » (8 ou 11 caractères).") from None
