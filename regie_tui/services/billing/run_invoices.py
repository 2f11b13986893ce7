"""The invoicing run's invoices and lines (step 3): the items grouped per child × unit × kind ×
rate into lines recording the rate, the bracket and why (``basis``), one invoice per family,
numbered in one take of the series (``pop-F2611`` + 00001…), each audited as issued."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import text
from sqlmodel import Session, col

from regie_tui.clock import utc_now
from regie_tui.models import Activity, AuditEntry, ChargeKind, Invoice, InvoiceLine, InvoiceStatus, Regie, Source, Unit
from regie_tui.services.billing.numbering import NumberKind, take_numbers
from regie_tui.services.billing.pricing import Bracket, line_amount_cents
from regie_tui.services.billing.run_prices import Segment
from regie_tui.services.common.sql import id_of, select_columns

PAYMENT_DELAY_DAYS = 30  # an invoice falls due 30 days after its issue
KIND_ORDER = {
    ChargeKind.SERVICE: 0,
    ChargeKind.PACKAGE: 1,
    ChargeKind.UNBOOKED_SURCHARGE: 2,
    ChargeKind.ABSENCE_PENALTY: 3,
    ChargeKind.ADJUSTMENT: 4,
}


@dataclass(frozen=True, slots=True)
class LinePreview:
    child_name: str
    label: str
    dates: str
    quantity: int
    unit_price_cents: int
    amount_cents: int
    kind: str
    basis: str


@dataclass
class FamilyBill:
    family_id: int
    family_name: str
    debtor_name: str
    debtor_address: str
    lines: list[LinePreview] = field(default_factory=list)
    number: str = ""

    @property
    def total_cents(self) -> int:
        return sum(line.amount_cents for line in self.lines)


@dataclass(frozen=True)
class _Names:
    """What the lines are named by: children, units (activity, position, label…), brackets, quotients."""

    children: dict[int, str]
    units: dict[int, tuple[Any, ...]]  # (activity id, position, label, activity, unit, package)
    brackets: dict[int, Bracket]
    segments: dict[tuple[int, int], Segment]  # (family, bracket) -> the segment, for its quotient


def line_label(kind: ChargeKind | str, activity: str, unit: str, package: str | None = None) -> str:
    """What an invoice line says it bills: 'Mercredi – Matin', 'Forfait semaine – ALSH Toussaint 2026'…"""
    if kind == ChargeKind.PACKAGE:
        return f"{package} – {activity}"
    label = f"{activity} – {unit}"
    if kind == ChargeKind.UNBOOKED_SURCHARGE:
        return f"Majoration sans réservation – {label}"
    if kind == ChargeKind.ABSENCE_PENALTY:
        return f"Pénalité absence non justifiée – {label}"
    return label


def basis_text(bracket: Bracket | None, quotient: int | None) -> str:
    """Why this price: 'Tranche 651-950 (QF 812)', or the top bracket for want of a valid quotient."""
    if bracket is None:
        return ""
    if not bracket.resident:
        return f"Tarif {bracket.name.lower()}"
    if quotient is None:
        return f"Tranche {bracket.name} : pas de QF valide"
    return f"Tranche {bracket.name} (QF {quotient})"


def days_text(days: Iterable[int]) -> str:
    """'3, 4, 6, 10': the days of the month a line bills."""
    return ", ".join(str(d) for d in sorted(set(days)))


def _grouped_items(conn: sa.Connection) -> list[tuple[Any, ...]]:
    """The items not on a line yet, one row per line to write: (family, child, unit, kind, rate,
    bracket, price key, price, quantity, amount, the days of the month)."""
    postgresql = conn.dialect.name == "postgresql"
    day_of_month = "extract(day from it.day)::int::text" if postgresql else "CAST(strftime('%d', it.day) AS INTEGER)"
    days_agg = f"string_agg({day_of_month}, ',')" if postgresql else f"group_concat({day_of_month}, ',')"
    return [
        tuple(row)
        for row in conn.execute(
            text(
                f"""SELECT it.family_id, it.child_id, it.unit_id, it.kind, it.rate_id, it.bracket_id,
    CASE WHEN it.kind = 'package' THEN 0 ELSE it.price END AS price_key,
    max(it.price), sum(CASE WHEN it.price > 0 OR it.kind <> 'package' THEN 1 ELSE 0 END), sum(it.price), {days_agg}
FROM billing_item it
WHERE it.line_id IS NULL
GROUP BY it.family_id, it.child_id, it.unit_id, it.kind, it.rate_id, it.bracket_id, price_key"""
            )
        )
    ]


def _family_names(db: Session, family_ids: list[int]) -> dict[int, tuple[str, str, str, str]]:
    """Per family billed: its name, its sort key, the payer's name and the billing address."""
    rows = (
        db.connection()
        .execute(
            text(
                """SELECT f.id, f.name, f.name_key, g.first_name, g.last_name, f.address, f.address_extra,
    f.postal_code, f.city
FROM family f LEFT JOIN guardian g ON g.family_id = f.id AND g.is_payer
WHERE f.id IN (SELECT DISTINCT it.family_id FROM billing_item it)"""
            )
        )
        .all()
    )
    wanted = set(family_ids)
    names = {}
    for family_id, name, name_key, first_name, last_name, address, extra, postal_code, city in rows:
        if family_id not in wanted:
            continue
        debtor = f"{first_name} {last_name.upper()}" if last_name else name
        lines = [address or "", extra or "", f"{postal_code or ''} {city or ''}".strip()]
        names[family_id] = (name, name_key, debtor, "\n".join(x for x in lines if x) if address else "")
    return names


def _child_names(db: Session) -> dict[int, str]:
    """'First Last' of the children billed."""
    return {
        child_id: f"{first} {last}"
        for child_id, first, last in db.connection().execute(
            text(
                "SELECT c.id, c.first_name, c.last_name FROM child c "
                "WHERE c.id IN (SELECT DISTINCT it.child_id FROM billing_item it)"
            )
        )
    }


def _units(db: Session) -> dict[int, tuple[Any, ...]]:
    """Unit id -> (activity id, position, label, activity name, unit name, package)."""
    return {
        unit_id: (activity_id, position, line_label(ChargeKind.SERVICE, activity, unit), activity, unit, package)
        for unit_id, activity_id, position, activity, unit, package in db.exec(
            select_columns(
                col(Unit.id),
                col(Unit.activity_id),
                col(Unit.position),
                col(Activity.name),
                col(Unit.name),
                col(Unit.package),
            ).join(Activity, col(Activity.id) == Unit.activity_id)
        )
    }


def _insert_invoices(
    conn: sa.Connection,
    regie: Regie,
    run_id: int,
    bills: list[FamilyBill],
    line_rows: dict[int, list[tuple[Any, ...]]],
    period: tuple[date, date],
    today: date,
    agent_id: int | None,
    created_at: Any,
) -> list[int]:
    """One invoice per bill (its total: its rows' amounts); their ids, in the bills' order."""
    invoice_table = Invoice.__table__  # type: ignore[attr-defined]
    first, last = period
    return list(
        conn.execute(
            sa.insert(invoice_table).returning(invoice_table.c.id, sort_by_parameter_order=True),
            [
                {
                    "number": bill.number,
                    "regie_id": id_of(regie),
                    "family_id": bill.family_id,
                    "period_start": first,
                    "period_end": last,
                    "issue_date": today,
                    "due_date": today + timedelta(days=PAYMENT_DELAY_DAYS),
                    "total_cents": sum(r[9] for r in line_rows[bill.family_id]),
                    "status": InvoiceStatus.ISSUED,
                    "debtor_name": bill.debtor_name,
                    "debtor_address": bill.debtor_address,
                    "created_by_id": agent_id,
                    "created_at": created_at,
                    "run_id": run_id,
                }
                for bill in bills
            ],
        )
        .scalars()
        .all()
    )


def _line(
    row: tuple[Any, ...], invoice_id: int, position: int, names: _Names
) -> tuple[dict[str, Any], dict[str, Any], LinePreview]:
    """One grouped row as its invoice line, its key in ``billing_line``, and what the preview shows."""
    family_id, child_id, unit_id, kind, rate_id, bracket_id, price_key, price, quantity, amount, days = row
    _, _, _, activity, unit, package = names.units[unit_id]
    label = line_label(kind, activity, unit, package)
    segment = names.segments.get((family_id, bracket_id))
    basis = basis_text(names.brackets.get(bracket_id), segment.quotient if segment else None)
    dates = days_text(int(d) for d in str(days).split(","))
    line = {
        "invoice_id": invoice_id,
        "position": position,
        "child_id": child_id,
        "unit_id": unit_id,
        "kind": ChargeKind(kind),
        "label": label,
        "dates": dates,
        "quantity": Decimal(quantity),
        "unit_price_cents": price,
        "amount_cents": line_amount_cents(quantity, price),
        "rate_id": rate_id,
        "bracket_id": bracket_id,
        "basis": basis,
    }
    key = {
        "family_id": family_id,
        "child_id": child_id,
        "unit_id": unit_id,
        "kind": kind,
        "rate_id": rate_id,
        "bracket_id": bracket_id,
        "price_key": price_key,
        "label": label,
    }
    preview = LinePreview(names.children.get(child_id, ""), label, dates, int(quantity), price, amount, kind, basis)
    return line, key, preview


def _insert_lines(conn: sa.Connection, lines: list[dict[str, Any]], keys: list[dict[str, Any]]) -> None:
    """The invoice lines, and their keys in ``billing_line`` (to link the items' charges to them)."""
    line_table = InvoiceLine.__table__  # type: ignore[attr-defined]
    line_ids = (
        conn.execute(sa.insert(line_table).returning(line_table.c.id, sort_by_parameter_order=True), lines)
        .scalars()
        .all()
    )
    conn.execute(
        text(
            "INSERT INTO billing_line VALUES (:line_id, :family_id, :child_id, :unit_id, :kind, :rate_id, "
            ":bracket_id, :price_key, :label)"
        ),
        [dict(key, line_id=line_id) for key, line_id in zip(keys, line_ids, strict=True)],
    )
    conn.execute(text("CREATE INDEX billing_line_key ON billing_line (family_id, child_id, unit_id, kind)"))


def _audit_issued(
    conn: sa.Connection, bills: list[FamilyBill], invoice_ids: list[int], first: date, agent_id: int | None, at: Any
) -> None:
    """One audit entry per invoice issued (in one statement)."""
    conn.execute(
        sa.insert(AuditEntry.__table__),  # type: ignore[attr-defined]
        [
            {
                "at": at,
                "agent_id": agent_id,
                "source": Source.AGENT,
                "action": "invoice_issued",
                "entity": "invoice",
                "entity_id": invoice_id,
                "family_id": bill.family_id,
                "before": None,
                "after": {"number": bill.number, "total_cents": bill.total_cents, "month": first.isoformat()},
            }
            for bill, invoice_id in zip(bills, invoice_ids, strict=True)
        ],
    )


def write_invoices(
    db: Session,
    regie: Regie,
    run_id: int,
    period: tuple[date, date],
    today: date,
    agent_id: int | None,
    segments: list[Segment],
    brackets: Sequence[Bracket],
) -> list[FamilyBill]:
    """One invoice per family with items (``period``: the month's first and last days), its lines
    grouped per child × unit × kind × rate; the bills, in the order of their numbers."""
    conn = db.connection()
    grouped = _grouped_items(conn)
    if not grouped:
        return []
    family_ids = sorted({row[0] for row in grouped})
    family_names = _family_names(db, family_ids)
    names = _Names(
        children=_child_names(db),
        units=_units(db),
        brackets={b.id: b for b in brackets},
        segments={(s.family_id, s.bracket_id): s for s in segments},
    )
    line_rows: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for row in grouped:
        line_rows[row[0]].append(row)
    ordered = sorted(
        (FamilyBill(i, family_names[i][0], family_names[i][2], family_names[i][3]) for i in family_ids),
        key=lambda b: (family_names[b.family_id][1], b.family_id),
    )
    numbers = take_numbers(
        db, kind=NumberKind.INVOICE, regie_prefix=regie.invoice_prefix, month=period[0], count=len(ordered)
    )
    for bill, number in zip(ordered, numbers, strict=True):
        bill.number = number
    created_at = utc_now()
    invoice_ids = _insert_invoices(conn, regie, run_id, ordered, line_rows, period, today, agent_id, created_at)
    lines: list[dict[str, Any]] = []
    keys: list[dict[str, Any]] = []
    for bill, invoice_id in zip(ordered, invoice_ids, strict=True):
        family_rows = sorted(
            line_rows[bill.family_id],
            key=lambda r: (
                names.children.get(r[1], ""),
                names.units[r[2]][:2],
                r[2],
                KIND_ORDER[ChargeKind(r[3])],
                r[7],
            ),
        )
        for position, row in enumerate(family_rows, start=1):
            line, key, preview = _line(row, invoice_id, position, names)
            lines.append(line)
            keys.append(key)
            bill.lines.append(preview)
    _insert_lines(conn, lines, keys)
    _audit_issued(conn, ordered, invoice_ids, period[0], agent_id, created_at)
    return ordered
