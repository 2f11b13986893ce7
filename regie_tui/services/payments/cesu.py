"""What CESU may pay of an invoice: only the part that is childcare (garde d'enfants hors
domicile) for a child under 6 on the day served, never a meal (a unit named "Repas…" or a
restauration scolaire activity); surcharges and adjustments without a unit are not eligible."""

from collections import defaultdict
from collections.abc import Sequence
from datetime import date

from sqlalchemy import func
from sqlmodel import Session, col, select

from regie_tui import formatting
from regie_tui.models import (
    Activity,
    ActivityKind,
    Allocation,
    Child,
    CreditNoteLine,
    Invoice,
    InvoiceLine,
    Payment,
    PaymentMode,
    Unit,
)
from regie_tui.services.common.sql import id_col, id_of, select_columns

CESU_AGE_LIMIT = 6  # garde d'enfants hors domicile: children under 6


def _parse_days(dates: str, start: date) -> list[date]:
    """The days of an invoice line ('3, 4, 7' of its month); [] when they cannot be read."""
    days = []
    for part in dates.split(","):
        part = part.strip()
        if not part.isdigit():
            return []
        try:
            days.append(start.replace(day=int(part)))
        except ValueError:
            return []
    return days


def cesu_eligible(db: Session, invoices: Sequence[Invoice]) -> dict[int, int]:
    """Invoice id -> the part CESU may still pay: non-meal childcare lines of children
    under 6 on the days served, less what credit notes gave back of them and what CESU paid."""
    ids = [id_of(i) for i in invoices]
    starts = {id_of(i): i.period_start for i in invoices}
    rows = db.exec(
        select_columns(
            col(InvoiceLine.invoice_id),
            id_col(InvoiceLine.id),
            col(InvoiceLine.amount_cents),
            col(InvoiceLine.dates),
            col(Unit.name),
            col(Activity.kind),
            col(Child.birth_date),
        )
        .join(Unit, col(Unit.id) == InvoiceLine.unit_id)
        .join(Activity, col(Activity.id) == Unit.activity_id)
        .join(Child, col(Child.id) == InvoiceLine.child_id)
        .where(col(InvoiceLine.invoice_id).in_(ids))
    ).all()
    given_back = dict(
        db.exec(
            select(CreditNoteLine.invoice_line_id, func.sum(CreditNoteLine.amount_cents))
            .join(InvoiceLine, col(InvoiceLine.id) == CreditNoteLine.invoice_line_id)
            .where(col(InvoiceLine.invoice_id).in_(ids))
            .group_by(col(CreditNoteLine.invoice_line_id))
        ).all()
    )
    eligible: dict[int, int] = defaultdict(int)
    for invoice_id, line_id, amount, dates, unit_name, kind, birth in rows:
        if kind == ActivityKind.CANTEEN or unit_name.strip().lower().startswith("repas"):
            continue
        days = _parse_days(dates, starts[invoice_id]) or [starts[invoice_id]]
        young = sum(1 for day in days if formatting.age_on(birth, day) < CESU_AGE_LIMIT)
        part = amount if young == len(days) else (amount * young * 2 + len(days)) // (2 * len(days))
        eligible[invoice_id] += max(0, part - int(given_back.get(line_id, 0)))
    paid_by_cesu = dict(
        db.exec(
            select(Allocation.invoice_id, func.sum(Allocation.amount_cents))
            .join(Payment, col(Payment.id) == Allocation.payment_id)
            .where(col(Allocation.invoice_id).in_(ids), Payment.mode == PaymentMode.CESU)
            .group_by(col(Allocation.invoice_id))
        ).all()
    )
    return {i: max(0, eligible.get(i, 0) - int(paid_by_cesu.get(i, 0))) for i in ids}
