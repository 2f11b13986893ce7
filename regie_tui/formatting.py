"""French formatting of money, numbers, dates and instants: the one place for it."""

from datetime import date, datetime
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal

from regie_tui.clock import PARIS

LOCALE = "fr_FR"


def _plain_spaces(text: str) -> str:
    # Babel uses narrow no-break spaces; keep plain no-break spaces for terminals.
    return text.replace("\u202f", "\u00a0")


def money(cents: int) -> str:
    """12345 -> '123,45 €'."""
    return _plain_spaces(format_currency(Decimal(cents) / 100, "EUR", locale=LOCALE))


def number(value: int | Decimal) -> str:
    return _plain_spaces(format_decimal(value, locale=LOCALE))


def short_date(day: date | None) -> str:
    """'23/11/2026'."""
    return day.strftime("%d/%m/%Y") if day else ""


def long_date(day: date) -> str:
    """'lundi 23 novembre 2026'."""
    return format_date(day, format="full", locale=LOCALE)


def month_name(day: date) -> str:
    """'novembre 2026'."""
    return format_date(day, format="LLLL yyyy", locale=LOCALE)


def of_month(day: date) -> str:
    """'de novembre 2026', 'd'octobre 2026': the month after « de », elided before a vowel."""
    name = month_name(day)
    return f"d'{name}" if name[0] in "aeiouy" else f"de {name}"


def local_datetime(instant: datetime | None) -> str:
    """An aware UTC instant shown in Europe/Paris: '23/11/2026 14:05'."""
    if instant is None:
        return ""
    return instant.astimezone(PARIS).strftime("%d/%m/%Y %H:%M")


def age_on(birth_date: date, day: date) -> int:
    years = day.year - birth_date.year
    if (day.month, day.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def file_size(size: int) -> str:
    """'120 ko', '2,4 Mo' (a kilo-octet is 1024 bytes)."""
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} ko"
    return f"{size / 1024 / 1024:.1f} Mo".replace(".", ",")
