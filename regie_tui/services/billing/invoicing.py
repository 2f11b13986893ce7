"""The monthly invoicing run of a régie, and credit notes.

A run bills, for one régie and one month, every booking not billed yet, in one
transaction and in a few set-based statements (never one family at a time):

1. the price of each family on each day: its quotient familial → its bracket
   (``pricing.bracket_for``: no valid QF → the top bracket, with a warning), and the rate of
   each unit × bracket valid that day, in two small temporary tables;
2. one ``charge`` per billed booking and kind (INSERT … SELECT): reserved, present and
   absent_unjustified are billed, present_special too with the unbooked surcharge,
   absent_unjustified with the absence penalty when the rate has one; a unit whose booking
   triggers a package (``unit.package``) is billed per week: the week's first billed day
   carries the package price, the other days are covered by it;
3. invoice lines grouped per child × unit × kind × rate, recording the rate, the bracket
   and why (``basis``), then one invoice per family, numbered in one take of the series
   (``pop-F2611`` + 00001…), then the charges linked to their lines.

The unique index on ``charge (booking_id, kind)`` makes a booking billable once: a second
run (or a second agent) finds nothing left to bill. On PostgreSQL the run first locks the
régie's row, so a concurrent run waits for the first one and then bills what is left
(nothing); on SQLite the caller's unit of work is a writer (``session_scope(write=True)``,
BEGIN IMMEDIATE), so a second run waits for the first within the busy timeout the same
way. A preview writes too, then rolls back: run it in a writing unit of work as well (the CLI does).

An issued invoice is never edited: a credit note (avoir) cancels or reduces it; when it
gives lines back, their charges are dropped and the days can be billed again.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Date, bindparam, func, text
from sqlmodel import Session, col, select

from regie_tui import formatting
from regie_tui.errors import RegieError
from regie_tui.models import (
    Activity,
    AuditEntry,
    BillingRun,
    BookingState,
    Charge,
    ChargeKind,
    CreditNote,
    CreditNoteLine,
    Family,
    FamilyQuotient,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Rate,
    Regie,
    Source,
    Unit,
)
from regie_tui.models.base import utc_now
from regie_tui.services.billing.numbering import NumberKind, take_number, take_numbers
from regie_tui.services.billing.pricing import Bracket, bracket_for, line_amount_cents, load_brackets
from regie_tui.services.common.regies import regie_by_code
from regie_tui.services.common.sql import id_of, select_columns
from regie_tui.services.common.validation import check_text
from regie_tui.services.trust import audit
from regie_tui.services.trust.access import Permission
from regie_tui.services.trust.agents import AgentInfo

PAYMENT_DELAY_DAYS = 30  # an invoice falls due 30 days after its issue
BILLED_STATES = (
    BookingState.RESERVED,
    BookingState.PRESENT,
    BookingState.PRESENT_SPECIAL,
    BookingState.ABSENT_UNJUSTIFIED,
)
KIND_ORDER = {
    ChargeKind.SERVICE: 0,
    ChargeKind.PACKAGE: 1,
    ChargeKind.UNBOOKED_SURCHARGE: 2,
    ChargeKind.ABSENCE_PENALTY: 3,
    ChargeKind.ADJUSTMENT: 4,
}
ANOMALY_LIST_MAX = 200  # anomalies listed one by one (all are counted)
SQLITE_RUN_CACHE_KIB = 64 * 1024  # SQLite's page cache during a run (its default: 2 MiB)
SQLITE_DEFAULT_CACHE_KIB = 2000

Progress = Callable[[int, int, str], None]
# The steps a run reports (progress bar, CLI): prices, items, invoices and lines (the
# numbers are taken there), charges and anomalies, the run's record.
STEPS = (
    "Tarifs et quotients",
    "Prestations à facturer",
    "Factures et lignes",
    "Prestations liées aux lignes",
    "Enregistrement",
)


class AnomalyKind:
    UNRECORDED = "Réservé sans pointage"
    UNBOOKED = "Présence sans réservation"
    NO_QUOTIENT = "QF absent ou expiré"
    NO_ADDRESS = "Famille sans adresse de payeur"
    NO_RATE = "Pas de tarif"


@dataclass(frozen=True)
class Anomaly:
    kind: str
    family_id: int
    family_name: str
    text: str


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
class MonthRun:
    """What a run billed (or would bill: the preview is the same run, rolled back)."""

    regie_code: str
    regie_name: str
    month: date
    issue_date: date
    billed_until: date
    families: list[FamilyBill]
    anomalies: list[Anomaly]
    anomaly_counts: dict[str, int]
    run_id: int | None
    first_number: str | None
    last_number: str | None

    @property
    def invoice_count(self) -> int:
        return len(self.families)

    @property
    def total_cents(self) -> int:
        return sum(f.total_cents for f in self.families)


def month_of(text_value: str) -> date:
    """'2026-11' → 1 November 2026 (French error otherwise)."""
    try:
        year, month = text_value.strip().split("-")
        return date(int(year), int(month), 1)
    except ValueError:
        raise RegieError(f"Mois invalide : « {text_value} » (attendu AAAA-MM, par exemple 2026-11).") from None


def month_last_day(first: date) -> date:
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return following - timedelta(days=1)


def week_of(day: date) -> date:
    """The Monday of ``day``'s week: a package (forfait semaine) is billed once per week."""
    return day - timedelta(days=day.weekday())


def days_text(days: Iterable[int]) -> str:
    """'3, 4, 6, 10': the days of the month a line bills."""
    return ", ".join(str(d) for d in sorted(set(days)))


def preview_month(
    db: Session,
    *,
    regie_code: str,
    month: date,
    today: date,
    agent: AgentInfo,
    progress: Progress | None = None,
) -> MonthRun:
    """The run as it would go, then rolled back: nothing is written (desk work)."""
    agent.require(Permission.DESK)
    try:
        return _bill(db, regie_code=regie_code, month=month, today=today, agent_id=agent.id, progress=progress)
    finally:
        db.rollback()


def bill_month(
    db: Session,
    *,
    regie_code: str,
    month: date,
    today: date,
    agent: AgentInfo | None,
    progress: Progress | None = None,
) -> MonthRun:
    """Bill what is not billed yet of ``month`` for the régie, in the caller's transaction:
    issued by an agent the role matrix lets issue invoices (None: the system, e.g. a batch)."""
    if agent is not None:
        agent.require(Permission.ISSUE_INVOICES)
    agent_id = agent.id if agent is not None else None
    return _bill(db, regie_code=regie_code, month=month, today=today, agent_id=agent_id, progress=progress)


def _bill(
    db: Session,
    *,
    regie_code: str,
    month: date,
    today: date,
    agent_id: int | None,
    progress: Progress | None,
) -> MonthRun:
    report = progress or (lambda _done, _total, _label: None)
    total_steps = len(STEPS)

    def step(index: int) -> None:
        report(index, total_steps, STEPS[index])

    regie = regie_by_code(db, code=regie_code)
    regie_id = id_of(regie)
    first = month.replace(day=1)
    if first > today:
        raise RegieError(f"Le mois {formatting.of_month(first)} n'a pas commencé : rien à facturer.")
    last = month_last_day(first)
    until = min(last, today)
    conn = db.connection()
    postgresql = conn.dialect.name == "postgresql"
    if postgresql:  # two runs of one régie queue here; the second then finds nothing left
        db.exec(select(Regie.id).where(Regie.id == regie_id).with_for_update())
    brackets = load_brackets(db)
    if not brackets:
        raise RegieError("Aucune tranche de quotient familial : les tarifs ne sont pas en place.")

    with _sqlite_run_cache(conn):
        step(0)
        segments = _family_segments(db, brackets, first, until)
        rates = _rate_segments(db, regie_id, first, until)
        _load_temporary(conn, postgresql, segments, rates)

        step(1)
        params = {"regie": regie_id, "first": first, "until": until}
        for statement in _ITEM_INSERTS:
            conn.execute(_dated(statement), params)
        _package_items(db, regie_id, first, until)

        step(2)
        run = BillingRun(regie_id=regie_id, month=first, issue_date=today, agent_id=agent_id)
        db.add(run)
        db.flush()
        bills = _invoices(db, regie, id_of(run), first, last, today, agent_id, segments, brackets)

        step(3)
        conn.execute(text(_CHARGE_INSERT), {"regie": regie_id})
        unpriced = _unpriced_units(db, regie_id, brackets, first, until, rates)
        anomalies, counts = _anomalies(db, regie_id, first, until, today, segments, bills, unpriced)
        _drop_temporary(conn, postgresql)

    step(4)
    if bills:
        run.invoice_count = len(bills)
        run.total_cents = sum(b.total_cents for b in bills)
        run.first_number, run.last_number = bills[0].number, bills[-1].number
        db.add(run)
        audit.record(
            db,
            action="invoicing_run",
            entity="billing_run",
            entity_id=run.id,
            agent_id=agent_id,
            after={
                "regie": regie.code,
                "month": first.isoformat(),
                "invoices": len(bills),
                "total_cents": run.total_cents,
                "first": run.first_number,
                "last": run.last_number,
            },
        )
    else:  # nothing billed: no run to remember
        db.delete(run)
    db.flush()
    report(total_steps, total_steps, "Terminé")
    return MonthRun(
        regie_code=regie.code,
        regie_name=regie.name,
        month=first,
        issue_date=today,
        billed_until=until,
        families=bills,
        anomalies=anomalies,
        anomaly_counts=counts,
        run_id=run.id if bills else None,
        first_number=bills[0].number if bills else None,
        last_number=bills[-1].number if bills else None,
    )


@contextmanager
def _sqlite_run_cache(conn: sa.Connection) -> Iterator[None]:
    """On SQLite, a larger page cache while the run writes index entries all over the charge table."""
    if conn.dialect.name != "sqlite":
        yield
        return
    conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_RUN_CACHE_KIB}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_DEFAULT_CACHE_KIB}")


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


# --- 1. prices ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Segment:
    """Days of the month a family pays in one bracket."""

    family_id: int
    first: date
    last: date
    bracket_id: int
    quotient: int | None
    missing: bool  # resident without a valid quotient: top bracket, with a warning


def _family_segments(db: Session, brackets: Sequence[Bracket], first: date, until: date) -> list[_Segment]:
    """Every family's bracket over the billed days (most families: one segment)."""
    quotients: dict[int, list[tuple[int, date, date]]] = defaultdict(list)
    for family_id, value, valid_from, valid_to in db.exec(
        select_columns(
            col(FamilyQuotient.family_id),
            col(FamilyQuotient.value),
            col(FamilyQuotient.valid_from),
            col(FamilyQuotient.valid_to),
        )
        .where(FamilyQuotient.valid_from <= until, FamilyQuotient.valid_to >= first)
        .order_by(col(FamilyQuotient.valid_from).desc())
    ):
        quotients[family_id].append((value, valid_from, valid_to))
    segments = []
    days = [first + timedelta(days=i) for i in range((until - first).days + 1)]
    for family_id, resident in db.exec(select(Family.id, Family.resident)):
        assert family_id is not None
        mine = quotients.get(family_id, [])
        if len(mine) == 1 and mine[0][1] <= first and mine[0][2] >= until or not mine:
            value = mine[0][0] if mine else None
            bracket = bracket_for(brackets, resident=resident, quotient=value)
            segments.append(_Segment(family_id, first, until, bracket.id, value, resident and value is None))
            continue
        current: list[Any] | None = None
        for day in days:  # the latest quotient valid that day wins
            value = next((v for v, start, end in mine if start <= day <= end), None)
            bracket = bracket_for(brackets, resident=resident, quotient=value)
            if current and current[2] == bracket.id and current[3] == value:
                current[1] = day
                continue
            if current:
                segments.append(_Segment(family_id, *current))
            current = [day, day, bracket.id, value, resident and value is None]
        if current:
            segments.append(_Segment(family_id, *current))
    return segments


def _rate_segments(db: Session, regie_id: int, first: date, until: date) -> list[tuple[Any, ...]]:
    """(unit, bracket, first, last, rate id, amount, surcharge, penalty, package) over the billed days."""
    rates: dict[tuple[int, int], list[Rate]] = defaultdict(list)
    for rate in db.exec(
        select(Rate)
        .join(Unit, col(Unit.id) == Rate.unit_id)
        .join(Activity, col(Activity.id) == Unit.activity_id)
        .where(Activity.regie_id == regie_id, Rate.valid_from <= until)
        .order_by(col(Rate.valid_from))
    ):
        rates[(rate.unit_id, rate.bracket_id)].append(rate)
    rows = []
    for (unit_id, bracket_id), versions in rates.items():
        for i, rate in enumerate(versions):
            end = versions[i + 1].valid_from - timedelta(days=1) if i + 1 < len(versions) else until
            start = max(rate.valid_from, first)
            if end < first or start > end:
                continue
            rows.append(
                (
                    unit_id,
                    bracket_id,
                    start,
                    min(end, until),
                    rate.id,
                    rate.amount_cents,
                    rate.unbooked_surcharge_cents,
                    rate.absence_penalty_cents,
                    rate.package_cents,
                )
            )
    return rows


def _unpriced_units(
    db: Session, regie_id: int, brackets: Sequence[Bracket], first: date, until: date, rates: list[tuple[Any, ...]]
) -> set[int]:
    """The régie's units lacking a price for some bracket on some billed day (usually none)."""
    days = (until - first).days + 1
    covered: dict[tuple[int, int], int] = defaultdict(int)
    no_package: set[tuple[int, int]] = set()
    for unit_id, bracket_id, start, end, _rate, _amount, _surcharge, _penalty, package in rates:
        covered[(unit_id, bracket_id)] += (end - start).days + 1
        if package is None:
            no_package.add((unit_id, bracket_id))
    units = db.exec(
        select(Unit.id, Unit.package)
        .join(Activity, col(Activity.id) == Unit.activity_id)
        .where(Activity.regie_id == regie_id)
    ).all()
    return {
        unit_id
        for unit_id, package in units
        for bracket in brackets
        if unit_id is not None
        and (covered[(unit_id, bracket.id)] < days or package is not None and (unit_id, bracket.id) in no_package)
    }


# The run's working tables, private to its connection and dropped at its end: the families'
# brackets and the rates over the month, the items to bill (one per booking and kind; a
# package item covered by a week already billed comes with that week's line), and the
# lines written (their keys, to link each item's charge to its line).
_TEMPORARY = {
    "billing_family": "family_id INTEGER, first_day DATE, last_day DATE, bracket_id INTEGER",
    "billing_rate": (
        "unit_id INTEGER, bracket_id INTEGER, first_day DATE, last_day DATE, rate_id INTEGER, "
        "amount INTEGER, surcharge INTEGER, penalty INTEGER, package INTEGER"
    ),
    "billing_item": (
        "booking_id INTEGER, family_id INTEGER, child_id INTEGER, unit_id INTEGER, kind VARCHAR(20), day DATE, "
        "price INTEGER, rate_id INTEGER, bracket_id INTEGER, line_id INTEGER, label VARCHAR(200)"
    ),
    "billing_line": (
        "line_id INTEGER, family_id INTEGER, child_id INTEGER, unit_id INTEGER, kind VARCHAR(20), "
        "rate_id INTEGER, bracket_id INTEGER, price_key INTEGER, label VARCHAR(200)"
    ),
}
_RATE_KEYS = ("unit", "bracket", "first", "last", "rate", "amount", "surcharge", "penalty", "package")


def _drop_temporary(conn: sa.Connection, postgresql: bool) -> None:
    for name in _TEMPORARY:
        conn.execute(text(f"DROP TABLE IF EXISTS {'' if postgresql else 'temp.'}{name}"))


def _load_temporary(
    conn: sa.Connection, postgresql: bool, segments: list[_Segment], rates: list[tuple[Any, ...]]
) -> None:
    _drop_temporary(conn, postgresql)
    for name, columns in _TEMPORARY.items():
        conn.execute(text(f"CREATE TEMPORARY TABLE {name} ({columns})"))
    conn.execute(text("CREATE INDEX billing_family_key ON billing_family (family_id, first_day)"))
    conn.execute(text("CREATE INDEX billing_rate_key ON billing_rate (unit_id, bracket_id, first_day)"))
    if segments:
        conn.execute(
            _dated("INSERT INTO billing_family VALUES (:family, :first, :last, :bracket)", "first", "last"),
            [{"family": s.family_id, "first": s.first, "last": s.last, "bracket": s.bracket_id} for s in segments],
        )
    if rates:
        conn.execute(
            _dated(
                "INSERT INTO billing_rate VALUES (:unit, :bracket, :first, :last, :rate, :amount, :surcharge, "
                ":penalty, :package)",
                "first",
                "last",
            ),
            [dict(zip(_RATE_KEYS, r, strict=True)) for r in rates],
        )


def _dated(statement: str, *names: str) -> sa.TextClause:
    """A text statement whose date parameters are bound as dates on both engines."""
    names = names or ("first", "until")
    return text(statement).bindparams(*(bindparam(n, type_=Date) for n in names))


# --- 2. items to bill --------------------------------------------------------------------------

_BILLED_SQL = ", ".join(f"'{s.value}'" for s in BILLED_STATES)
_PRICED_BOOKINGS = """
FROM booking b
JOIN unit u ON u.id = b.unit_id
JOIN activity a ON a.id = u.activity_id
JOIN child c ON c.id = b.child_id
JOIN billing_family bf ON bf.family_id = c.family_id AND b.day BETWEEN bf.first_day AND bf.last_day
JOIN billing_rate r ON r.unit_id = b.unit_id AND r.bracket_id = bf.bracket_id
    AND b.day BETWEEN r.first_day AND r.last_day
WHERE a.regie_id = :regie AND b.day BETWEEN :first AND :until"""


def _item_insert(kind: ChargeKind, price: str, states: str) -> str:
    """The bookings billable for ``kind`` and not billed for it yet, priced."""
    priced = "" if kind == ChargeKind.SERVICE else f" AND {price} > 0"
    return f"""INSERT INTO billing_item
    (booking_id, family_id, child_id, unit_id, kind, day, price, rate_id, bracket_id)
SELECT b.id, c.family_id, b.child_id, b.unit_id, '{kind.value}', b.day, {price}, r.rate_id, r.bracket_id
{_PRICED_BOOKINGS} AND b.state IN ({states}) AND u.package IS NULL{priced}
    AND NOT EXISTS (SELECT 1 FROM charge x WHERE x.booking_id = b.id AND x.kind = '{kind.value}')"""


_ITEM_INSERTS = (
    _item_insert(ChargeKind.SERVICE, "r.amount", _BILLED_SQL),
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


def _package_items(db: Session, regie_id: int, first: date, until: date) -> None:
    """Package units: per child × unit × week, the first billed day carries the package price.

    A week already carrying its price (billed earlier, e.g. in the previous month) covers its
    new days: their items (0 €) go on that week's line.
    """
    conn = db.connection()
    rows = conn.execute(
        _dated(
            f"""SELECT c.family_id, b.child_id, b.id, b.day, b.unit_id, r.rate_id, r.bracket_id, r.package
{_PRICED_BOOKINGS} AND b.state IN ({_BILLED_SQL}) AND u.package IS NOT NULL AND r.package IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM charge x WHERE x.booking_id = b.id AND x.kind = 'package')
ORDER BY b.child_id, b.unit_id, b.day"""
        ),
        {"regie": regie_id, "first": first, "until": until},
    ).all()
    if not rows:
        return
    # Weeks already carrying their price: their line and its label.
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
            col(Charge.child_id).in_({r[1] for r in rows}),
        )
    ):
        if child_id is not None and unit_id is not None:
            week_lines[(child_id, unit_id, week_of(day))] = (line_id, label)
    values = []
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
        _dated(
            "INSERT INTO billing_item VALUES (:booking, :family, :child, :unit, :kind, :day, :price, :rate, "
            ":bracket, :line, :label)",
            "day",
        ),
        values,
    )


# --- 3. invoices and lines ---------------------------------------------------------------------


def _invoices(
    db: Session,
    regie: Regie,
    run_id: int,
    first: date,
    last: date,
    today: date,
    agent_id: int | None,
    segments: list[_Segment],
    brackets: Sequence[Bracket],
) -> list[FamilyBill]:
    """One invoice per family with items, its lines grouped per child × unit × kind × rate."""
    conn = db.connection()
    postgresql = conn.dialect.name == "postgresql"
    day_of_month = "extract(day from it.day)::int::text" if postgresql else "CAST(strftime('%d', it.day) AS INTEGER)"
    days_agg = f"string_agg({day_of_month}, ',')" if postgresql else f"group_concat({day_of_month}, ',')"
    grouped = [
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
    if not grouped:
        return []
    family_ids = sorted({row[0] for row in grouped})
    names = _family_names(db, family_ids)
    children = _child_names(db)
    units = {
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
    bracket_names = {b.id: b for b in brackets}
    quotient_of = {(s.family_id, s.bracket_id): s for s in segments}
    line_rows: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for row in grouped:
        line_rows[row[0]].append(row)
    ordered = sorted(
        (FamilyBill(i, names[i][0], names[i][2], names[i][3]) for i in family_ids),
        key=lambda b: (names[b.family_id][1], b.family_id),
    )
    numbers = take_numbers(
        db, kind=NumberKind.INVOICE, regie_prefix=regie.invoice_prefix, month=first, count=len(ordered)
    )
    for bill, number in zip(ordered, numbers, strict=True):
        bill.number = number
    invoice_table = Invoice.__table__  # type: ignore[attr-defined]
    created_at = utc_now()
    invoice_ids = (
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
                for bill in ordered
            ],
        )
        .scalars()
        .all()
    )
    lines: list[dict[str, Any]] = []
    keys: list[dict[str, Any]] = []
    for bill, invoice_id in zip(ordered, invoice_ids, strict=True):
        family_rows = sorted(
            line_rows[bill.family_id],
            key=lambda r: (children.get(r[1], ""), units[r[2]][:2], r[2], KIND_ORDER[ChargeKind(r[3])], r[7]),
        )
        for position, row in enumerate(family_rows, start=1):
            family_id, child_id, unit_id, kind, rate_id, bracket_id, price_key, price, quantity, amount, days = row
            _, _, _, activity, unit, package = units[unit_id]
            label = line_label(kind, activity, unit, package)
            segment = quotient_of.get((family_id, bracket_id))
            basis = basis_text(bracket_names.get(bracket_id), segment.quotient if segment else None)
            dates = days_text(int(d) for d in str(days).split(","))
            lines.append(
                {
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
            )
            keys.append(
                {
                    "family_id": family_id,
                    "child_id": child_id,
                    "unit_id": unit_id,
                    "kind": kind,
                    "rate_id": rate_id,
                    "bracket_id": bracket_id,
                    "price_key": price_key,
                    "label": label,
                }
            )
            bill.lines.append(
                LinePreview(children.get(child_id, ""), label, dates, int(quantity), price, amount, kind, basis)
            )
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
    conn.execute(
        sa.insert(AuditEntry.__table__),  # type: ignore[attr-defined]
        [
            {
                "at": created_at,
                "agent_id": agent_id,
                "source": Source.AGENT,
                "action": "invoice_issued",
                "entity": "invoice",
                "entity_id": invoice_id,
                "family_id": bill.family_id,
                "before": None,
                "after": {"number": bill.number, "total_cents": bill.total_cents, "month": first.isoformat()},
            }
            for bill, invoice_id in zip(ordered, invoice_ids, strict=True)
        ],
    )
    return ordered


def basis_text(bracket: Bracket | None, quotient: int | None) -> str:
    """Why this price: 'Tranche 651-950 (QF 812)', or the top bracket for want of a valid quotient."""
    if bracket is None:
        return ""
    if not bracket.resident:
        return f"Tarif {bracket.name.lower()}"
    if quotient is None:
        return f"Tranche {bracket.name} : pas de QF valide"
    return f"Tranche {bracket.name} (QF {quotient})"


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


# --- 4. anomalies ------------------------------------------------------------------------------


def _anomalies(
    db: Session,
    regie_id: int,
    first: date,
    until: date,
    today: date,
    segments: list[_Segment],
    bills: list[FamilyBill],
    unpriced_units: set[int],
) -> tuple[list[Anomaly], dict[str, int]]:
    """What the agent should look at: listed (up to ANOMALY_LIST_MAX a kind) and counted.

    Bookings without a price are looked for only on ``unpriced_units``: the units lacking a
    rate (or a package price) for some bracket on some billed day."""
    conn = db.connection()
    found: list[Anomaly] = []
    counts: dict[str, int] = {}

    def add(kind: str, rows: Sequence[Any], describe: Callable[[Any], tuple[int, str, str]]) -> None:
        counts[kind] = len(rows)
        for row in rows[:ANOMALY_LIST_MAX]:
            family_id, family_name, detail = describe(row)
            found.append(Anomaly(kind, family_id, family_name, detail))

    def booking_detail(row: Any) -> tuple[int, str, str]:
        day = row[3] if isinstance(row[3], date) else date.fromisoformat(row[3])
        return row[0], row[1], f"{row[2]}, {formatting.short_date(day)}, {row[4]}"

    bookings = """SELECT f.id, f.name, c.first_name, b.day, a.name || ' – ' || u.name
FROM booking b JOIN unit u ON u.id = b.unit_id JOIN activity a ON a.id = u.activity_id
JOIN child c ON c.id = b.child_id {join}
JOIN family f ON f.id = c.family_id
WHERE a.regie_id = :regie AND b.day BETWEEN :first AND :until AND {where}
ORDER BY f.name, f.id, b.day"""
    params = {"regie": regie_id, "first": first, "until": until}
    unrecorded = conn.execute(
        _dated(
            bookings.format(join="", where=f"b.state = '{BookingState.RESERVED.value}' AND b.day < :today"),
            "first",
            "until",
            "today",
        ),
        params | {"today": today},
    ).all()
    add(AnomalyKind.UNRECORDED, unrecorded, booking_detail)
    unbooked = conn.execute(
        _dated(bookings.format(join="", where=f"b.state = '{BookingState.PRESENT_SPECIAL.value}'")), params
    ).all()
    add(AnomalyKind.UNBOOKED, unbooked, booking_detail)

    billed = {b.family_id: b for b in bills}
    missing_families = {s.family_id for s in segments if s.missing}
    missing = [b.family_id for b in bills if b.family_id in missing_families]
    add(
        AnomalyKind.NO_QUOTIENT,
        missing,
        lambda i: (i, billed[i].family_name, f"facturée à la tranche la plus haute ({billed[i].number})"),
    )
    no_address = [b for b in bills if not b.debtor_address]
    add(AnomalyKind.NO_ADDRESS, no_address, lambda b: (b.family_id, b.family_name, f"facture {b.number}"))

    # Billable bookings with no rate for the family's bracket that day (or no package price).
    rate_of = """JOIN billing_family bf ON bf.family_id = c.family_id AND b.day BETWEEN bf.first_day AND bf.last_day
LEFT JOIN billing_rate r ON r.unit_id = b.unit_id AND r.bracket_id = bf.bracket_id
    AND b.day BETWEEN r.first_day AND r.last_day"""
    unpriced = (
        f"b.state IN ({_BILLED_SQL}) AND (r.rate_id IS NULL OR u.package IS NOT NULL AND r.package IS NULL)"
        f" AND b.unit_id IN ({', '.join(str(u) for u in sorted(unpriced_units))})"
    )
    no_rate = (
        conn.execute(_dated(bookings.format(join=rate_of, where=unpriced)), params).all() if unpriced_units else []
    )
    add(AnomalyKind.NO_RATE, no_rate, booking_detail)
    return found, counts


# --- credit notes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreditableLine:
    id: int
    position: int
    child_first_name: str
    label: str
    quantity: str
    amount_cents: int


def creditable_lines(db: Session, *, invoice_number: str) -> list[CreditableLine]:
    """The lines of an invoice a credit note may still give back (with an amount, not given back yet)."""
    from regie_tui.models import Child

    rows = db.exec(
        select(InvoiceLine, Child.first_name)
        .join(Invoice, col(Invoice.id) == InvoiceLine.invoice_id)
        .outerjoin(Child, col(Child.id) == InvoiceLine.child_id)
        .where(Invoice.number == invoice_number.strip())
        .order_by(col(InvoiceLine.position))
    ).all()
    given_back = set(
        db.exec(
            select(CreditNoteLine.invoice_line_id).where(
                col(CreditNoteLine.invoice_line_id).in_([line.id for line, _ in rows])
            )
        ).all()
    )
    return [
        CreditableLine(
            id_of(line),
            line.position,
            first_name or "",
            line.label,
            formatting.number(line.quantity.normalize()),
            line.amount_cents,
        )
        for line, first_name in rows
        if line.id not in given_back and line.amount_cents > 0
    ]


@dataclass(frozen=True)
class CreditNoteIssued:
    number: str
    invoice_number: str
    amount_cents: int
    lines_freed: int
    invoice_cancelled: bool
    released_cents: int  # payments set free by it: now the family's credit


def credit_invoice(
    db: Session,
    *,
    invoice_number: str,
    reason: str,
    today: date,
    agent: AgentInfo,
    line_ids: Sequence[int] = (),
    amount_cents: int | None = None,
) -> CreditNoteIssued:
    """Issue a credit note (avoir) on an invoice.

    Without lines nor amount: cancels what is left of it and gives all its lines back.
    With lines: gives those lines back (their days can be billed again). With an amount:
    reduces the invoice by it, giving nothing back. Payments beyond what the invoice is
    now worth are set free (allocations reduced): they become the family's credit.
    """
    from regie_tui.models import Allocation

    agent.require(Permission.CREDIT_NOTE)
    agent_id = agent.id
    reason = reason.strip()
    if not reason:
        raise RegieError("Un avoir doit dire pourquoi : motif obligatoire.")
    check_text(reason, "Motif de l'avoir", column=CreditNote.reason)
    if len(set(line_ids)) != len(line_ids):
        raise RegieError("Une même ligne est donnée plusieurs fois : chaque ligne n'est rendue qu'une fois.")
    invoice = db.exec(select(Invoice).where(Invoice.number == invoice_number.strip()).with_for_update()).first()
    if invoice is None:
        raise RegieError(f"Facture {invoice_number} introuvable.")
    if invoice.status == InvoiceStatus.CANCELLED:
        raise RegieError(f"La facture {invoice.number} est déjà annulée par avoir.")
    credited = int(
        db.exec(
            select(func.coalesce(func.sum(CreditNote.amount_cents), 0)).where(CreditNote.invoice_id == invoice.id)
        ).one()
    )
    remaining = invoice.total_cents - credited
    freed_ids = set(
        db.exec(
            select(CreditNoteLine.invoice_line_id)
            .join(InvoiceLine, col(InvoiceLine.id) == CreditNoteLine.invoice_line_id)
            .where(InvoiceLine.invoice_id == invoice.id)
        ).all()
    )
    lines = db.exec(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)).all()
    if line_ids and amount_cents is not None:
        raise RegieError("Un avoir porte soit sur des lignes, soit sur un montant, pas les deux.")
    if line_ids:
        by_id = {line.id: line for line in lines}
        chosen = []
        for line_id in line_ids:
            line = by_id.get(line_id)
            if line is None:
                raise RegieError(f"La ligne {line_id} n'est pas une ligne de la facture {invoice.number}.")
            if line_id in freed_ids:
                raise RegieError(f"La ligne « {line.label} » a déjà fait l'objet d'un avoir.")
            chosen.append(line)
        amount = sum(line.amount_cents for line in chosen)
    elif amount_cents is not None:
        chosen = []
        amount = amount_cents
    else:
        chosen = [line for line in lines if line.id not in freed_ids]
        amount = remaining
    if amount <= 0:
        raise RegieError("Montant de l'avoir nul : rien à créditer.")
    if amount > remaining:
        raise RegieError(
            f"L'avoir de {formatting.money(amount)} dépasse ce qui reste de la facture {invoice.number} "
            f"({formatting.money(remaining)})."
        )
    regie = db.get(Regie, invoice.regie_id)
    assert regie is not None
    number = take_number(db, kind=NumberKind.CREDIT_NOTE, regie_prefix=regie.invoice_prefix, month=today)
    note = CreditNote(
        number=number,
        invoice_id=id_of(invoice),
        issue_date=today,
        amount_cents=amount,
        reason=reason,
        created_by_id=agent_id,
    )
    db.add(note)
    db.flush()
    chosen_with_amount = [line for line in chosen if line.amount_cents > 0]
    for line in chosen_with_amount:
        db.add(CreditNoteLine(credit_note_id=id_of(note), invoice_line_id=id_of(line), amount_cents=line.amount_cents))
    freed_line_ids = [id_of(line) for line in chosen]
    if freed_line_ids:  # the days can be billed again
        db.connection().execute(
            sa.delete(Charge.__table__).where(  # type: ignore[attr-defined]
                Charge.__table__.c.invoice_line_id.in_(freed_line_ids)  # type: ignore[attr-defined]
            )
        )
    cancelled = amount == remaining
    if cancelled:
        invoice.status = InvoiceStatus.CANCELLED
        db.add(invoice)
    # Payments beyond what the invoice is now worth become the family's credit.
    worth = 0 if cancelled else remaining - amount
    allocations = db.exec(
        select(Allocation).where(Allocation.invoice_id == invoice.id).order_by(col(Allocation.id).desc())
    ).all()
    excess = sum(a.amount_cents for a in allocations) - worth
    released = max(excess, 0)
    for allocation in allocations:
        if excess <= 0:
            break
        take = min(excess, allocation.amount_cents)
        excess -= take
        if take == allocation.amount_cents:
            db.delete(allocation)
        else:
            allocation.amount_cents -= take
            db.add(allocation)
    audit.record(
        db,
        action="credit_note",
        entity="invoice",
        entity_id=invoice.id,
        agent_id=agent_id,
        family_id=invoice.family_id,
        after={
            "credit_note": number,
            "invoice": invoice.number,
            "amount_cents": amount,
            "reason": reason,
            "lines": freed_line_ids,
            "cancelled": cancelled,
            "released_cents": released,
        },
    )
    db.flush()
    return CreditNoteIssued(number, invoice.number, amount, len(freed_line_ids), cancelled, released)
