"""Numbers of invoices, receipts and credit notes: '{prefix}-{letter}{yymm}{sequence:05d}'.

Each régie has its prefix ('pop'); the letter says the kind (F facture, R reçu,
A avoir); yymm is the month billed (invoices) or of issue (receipts, credit notes).
Every series ('invoice:pop-F2611') has one ``number_sequence`` row holding its last
value, so numbers are continuous and never reused.
"""

from datetime import date
from enum import StrEnum
from typing import cast

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from regie_tui.models import NumberSequence

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


def take_number(db: Session, *, kind: NumberKind, regie_prefix: str, month: date) -> str:
    """The next number of the series, taken inside the caller's transaction (see take_numbers)."""
    return take_numbers(db, kind=kind, regie_prefix=regie_prefix, month=month, count=1)[0]


def take_numbers(db: Session, *, kind: NumberKind, regie_prefix: str, month: date, count: int) -> list[str]:
    """The next ``count`` numbers of the series, taken inside the caller's transaction.

    One upsert (insert the series at ``count``, or add ``count`` to its last value) returning
    the last value: a concurrent agent waits on the row lock until this transaction ends, so
    numbers are continuous and never reused; a rolled-back transaction gives them back.
    """
    if count < 1:
        return []
    prefix = number_prefix(kind, regie_prefix, month)
    series = series_name(kind, prefix)
    table = cast("Table", NumberSequence.__table__)  # type: ignore[attr-defined]
    insert = postgresql_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(table)
        .values(series=series, last_value=count)
        .on_conflict_do_update(index_elements=["series"], set_={"last_value": table.c.last_value + count})
        .returning(table.c.last_value)
    )
    last = db.connection().execute(statement).scalar_one()
    return [format_number(prefix, value) for value in range(last - count + 1, last + 1)]
