"""Numbers of invoices, receipts and credit notes: '{prefix}-{letter}{yymm}{sequence:05d}'.

Each régie has its prefix ('pop'); the letter says the kind (F facture, R reçu,
A avoir); yymm is the month billed (invoices) or of issue (receipts, credit notes).
Every series ('invoice:pop-F2611') has one ``number_sequence`` row holding its last
value, so numbers are continuous and never reused.
"""

from datetime import date
from enum import StrEnum

SEQUENCE_DIGITS = 5


class NumberKind(StrEnum):
    INVOICE = "invoice"
    RECEIPT = "receipt"
    CREDIT_NOTE = "credit_note"


LETTERS = {NumberKind.INVOICE: "F", NumberKind.RECEIPT: "R", NumberKind.CREDIT_NOTE: "A"}


def number_prefix(kind: NumberKind, regie_prefix: str, month: date) -> str:
    """'pop-F2611' for the invoices of November 2026 of the régie prefixed 'pop'."""
    return f"{regie_prefix}-{LETTERS[kind]}{month:%y%m}"


def series_name(kind: NumberKind, prefix: str) -> str:
    """The ``number_sequence.series`` of the numbers starting with ``prefix``."""
    return f"{kind.value}:{prefix}"


def format_number(prefix: str, value: int) -> str:
    """'pop-F2611' and 12 -> 'pop-F261100012'."""
    return f"{prefix}{value:0{SEQUENCE_DIGITS}d}"
