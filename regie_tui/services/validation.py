"""Checks of the values a family file holds, with the French message an agent reads.

One place for what a valid e-mail, French phone number, postal code, birth date, name,
IBAN or BIC is: the portal import, the bannette and the family forms all call these.
Each ``check_*`` returns the value as it should be stored (trimmed, normalised) or raises
``InvalidValue`` with a French message naming the problem.
"""

import re
from datetime import date

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


def sniff_media_type(content: bytes) -> str | None:
    """The media type the file's first bytes say (PDF, JPEG, PNG), or None."""
    return next((media for media, magic in FILE_SIGNATURES.items() if content.startswith(magic)), None)


class InvalidValue(RegieError):
    """A value refused by a field's rule; ``message`` is French and says why."""


def check_required(value: str, label: str) -> str:
    text = value.strip()
    if not text:
        raise InvalidValue(f"{label} : obligatoire.")
    return text


def check_name(value: str, label: str = "Nom") -> str:
    """A person's or family's name: required, letters with spaces, hyphens and apostrophes."""
    text = " ".join(check_required(value, label).split())
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
    """A date typed as 'JJ/MM/AAAA' (the desk) or 'AAAA-MM-JJ' (the portal)."""
    text = value.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text)
        match = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
        if match:
            day, month, year = (int(part) for part in match.groups())
            return date(year, month, day)
    except ValueError:
        pass
    raise InvalidValue(f"{label} : « {text} » n'est pas une date valide (JJ/MM/AAAA).")


def parse_money(value: str, label: str = "Montant", *, positive: bool = True) -> int:
    """An amount typed French style ('12,50', '12.50', '1 234,5', '12 €') in cents.

    ``positive``: zero is refused (a payment, a credit note); a rate may be free."""
    text = re.sub(r"[\s\u00a0\u202f€]", "", value)
    match = re.fullmatch(r"(\d{1,9})(?:[,.](\d{1,2}))?", text)
    if not match:
        raise InvalidValue(f"{label} : « {value.strip()} » n'est pas un montant (par exemple 12,50).")
    cents = int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))
    if positive and cents <= 0:
        raise InvalidValue(f"{label} : le montant doit être supérieur à zéro.")
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
