"""The invoicing run's prestations (step 2): one item per booking and kind not billed yet,
priced (INSERT … SELECT into ``billing_item``): reserved, present and absent_unjustified
bookings are billed, present_special too with the unbooked surcharge, absent_unjustified with
the absence penalty when the rate has one. A unit whose booking triggers a package
(``unit.package``) is billed per week: the week's first billed day carries the package price,
the other days are covered by it. Once the lines are written, each item becomes its ``charge``.
"""

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import text
from sqlmodel import Session, col

from regie_tui.models import BookingState, Charge, ChargeKind
from regie_tui.services.billing.run_tables import BILLED_SQL, dated
from regie_tui.services.common.sql import select_columns

_PRICED_BOOKINGS = """
FROM booking b
JOIN unit u ON u.id = b.unit_id
JOIN activity a ON a.id = u.activity_id
JOIN child c ON c.id = b.child_id
JOIN billing_family bf ON bf.family_id = c.family_id AND b.day BETWEEN bf.first_day AND bf.last_day
JOIN billing_rate r ON r.unit_id = b.unit_id AND r.bracket_id = bf.bracket_id
    AND b.day BETWEEN r.first_day AND r.last_day
WHERE a.regie_id = :regie AND b.day BETWEEN :first AND :until"""


def week_of(day: date) -> date:
    """The Monday of ``day``'s week: a package (forfait semaine) is billed once per week."""
    return day - timedelta(days=day.weekday())


def _item_insert(kind: ChargeKind, price: str, states: str) -> str:
    """The bookings billable for ``kind`` and not billed for it yet, priced."""
    priced = "" if kind == ChargeKind.SERVICE else f" AND {price} > 0"
    return f"""INSERT INTO billing_item
    (booking_id, family_id, child_id, unit_id, kind, day, price, rate_id, bracket_id)
SELECT b.id, c.family_id, b.child_id, b.unit_id, '{kind.value}', b.day, {price}, r.rate_id, r.bracket_id
{_PRICED_BOOKINGS} AND b.state IN ({states}) AND u.package IS NULL{priced}
    AND NOT EXISTS (SELECT 1 FROM charge x WHERE x.booking_id = b.id AND x.kind = '{kind.value}')"""


_ITEM_INSERTS = (
    _item_insert(ChargeKind.SERVICE, "r.amount", BILLED_SQL),
    _item_insert(ChargeKind.UNBOOKED_SURCHARGE, "r.surcharge", f"'{BookingState.PRESENT_SPECIAL.value}'"),
    _item_insert(ChargeKind.ABSENCE_PENALTY, "r.penalty", f"'{BookingState.ABSENT_UNJUSTIFIED.value}'"),
)

# Each item becomes its charge, on its line (a covered package item: on its week's line).
_CHARGE_INSERT = """INSERT INTO charge (family_id, child_id, booking_id, regie_id, kind, day, label, quantity,
    unit_price_cents, amount_cents, unit_id, rate_id, bracket_id, invoice_line_id)
SELECT it.family_id, it.child_id, it.booking_id, :regie, it.kind, it.day, coalesce(it.label, bl.label), 1,
    it.price, it.price, it.unit_id, it.rate_id, it.bracket_id, coalesce(it.line_id, bl.line_id)
FROM billing_item it
LEFT JOIN billing_line bl ON it.line_id IS NULL AND bl.family_id = it.family_id AND bl.child_id = it.child_id
    AND bl.unit_id = it.unit_id AND bl.kind = it.kind AND bl.rate_id = it.rate_id AND bl.bracket_id = it.bracket_id
    AND bl.price_key = CASE WHEN it.kind = 'package' THEN 0 ELSE it.price END
ORDER BY it.booking_id"""


def insert_items(db: Session, regie_id: int, first: date, until: date) -> None:
    """Every booking of the régie billable from ``first`` to ``until`` and not billed yet, as items."""
    conn = db.connection()
    params = {"regie": regie_id, "first": first, "until": until}
    for statement in _ITEM_INSERTS:
        conn.execute(dated(statement), params)
    _package_items(db, regie_id, first, until)


def _week_lines(
    db: Session, regie_id: int, first: date, until: date, child_ids: set[int]
) -> dict[tuple[int, int, date], tuple[int | None, str | None]]:
    """(child, unit, week) -> the line and label of the weeks already carrying their package price."""
    week_lines: dict[tuple[int, int, date], tuple[int | None, str | None]] = {}
    for child_id, unit_id, day, line_id, label in db.exec(
        select_columns(
            col(Charge.child_id), col(Charge.unit_id), col(Charge.day), col(Charge.invoice_line_id), col(Charge.label)
        ).where(
            Charge.kind == ChargeKind.PACKAGE,
            Charge.amount_cents > 0,
            Charge.regie_id == regie_id,
            Charge.day >= week_of(first),
            Charge.day <= until,
            col(Charge.child_id).in_(child_ids),
        )
    ):
        if child_id is not None and unit_id is not None:
            week_lines[(child_id, unit_id, week_of(day))] = (line_id, label)
    return week_lines


def _package_items(db: Session, regie_id: int, first: date, until: date) -> None:
    """Package units: per child × unit × week, the first billed day carries the package price.

    A week already carrying its price (billed earlier, e.g. in the previous month) covers its
    new days: their items (0 €) go on that week's line.
    """
    conn = db.connection()
    rows = conn.execute(
        dated(
            f"""SELECT c.family_id, b.child_id, b.id, b.day, b.unit_id, r.rate_id, r.bracket_id, r.package
{_PRICED_BOOKINGS} AND b.state IN ({BILLED_SQL}) AND u.package IS NOT NULL AND r.package IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM charge x WHERE x.booking_id = b.id AND x.kind = 'package')
ORDER BY b.child_id, b.unit_id, b.day"""
        ),
        {"regie": regie_id, "first": first, "until": until},
    ).all()
    if not rows:
        return
    week_lines = _week_lines(db, regie_id, first, until, {r[1] for r in rows})
    values: list[dict[str, Any]] = []
    for family_id, child_id, booking_id, day, unit_id, rate_id, bracket_id, package in rows:
        day = day if isinstance(day, date) else date.fromisoformat(day)
        key = (child_id, unit_id, week_of(day))
        line_id, label = week_lines.get(key, (None, None))
        carries = key not in week_lines
        if carries:
            week_lines[key] = (None, None)  # this run's line: found by its key
        values.append(
            {
                "booking": booking_id,
                "family": family_id,
                "child": child_id,
                "unit": unit_id,
                "kind": ChargeKind.PACKAGE.value,
                "day": day,
                "price": package if carries else 0,
                "rate": rate_id,
                "bracket": bracket_id,
                "line": line_id,
                "label": label,
            }
        )
    conn.execute(
        dated(
            "INSERT INTO billing_item VALUES (:booking, :family, :child, :unit, :kind, :day, :price, :rate, "
            ":bracket, :line, :label)",
            "day",
        ),
        values,
    )


def insert_charges(conn: sa.Connection, regie_id: int) -> None:
    """Each item as its ``charge``, linked to its invoice line (``billing_line`` written by then)."""
    conn.execute(text(_CHARGE_INSERT), {"regie": regie_id})
