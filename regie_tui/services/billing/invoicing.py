"""The monthly invoicing run of a régie.

A run bills, for one régie and one month, every booking not billed yet, in one
transaction and in a few set-based statements (never one family at a time):

1. the price of each family on each day (``run_prices``): its quotient familial → its
   bracket, and the rate of each unit × bracket valid that day, in two small temporary tables
   (``run_tables``);
2. one item per billed booking and kind (``run_items``), packages billed per week;
3. invoice lines grouped per child × unit × kind × rate, one invoice per family, numbered in
   one take of the series (``run_invoices``), then each item's ``charge`` linked to its line;
4. the anomalies the agent should look at (``run_anomalies``).

The unique index on ``charge (booking_id, kind)`` makes a booking billable once: a second
run (or a second agent) finds nothing left to bill. On PostgreSQL the run first locks the
régie's row, so a concurrent run waits for the first one and then bills what is left
(nothing); on SQLite the caller's unit of work is a writer (``session_scope(write=True)``,
BEGIN IMMEDIATE), so a second run waits for the first within the busy timeout the same
way. The preview is the same run, rolled back: it writes too, so it runs as a writer as well.

An issued invoice is never edited: a credit note (``credit_notes``) cancels or reduces it.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from regie_tui import formatting
from regie_tui.errors import RegieError
from regie_tui.models import BillingRun, Regie
from regie_tui.services.billing.pricing import Bracket, load_brackets
from regie_tui.services.billing.run_anomalies import Anomaly, find_anomalies
from regie_tui.services.billing.run_invoices import FamilyBill, write_invoices
from regie_tui.services.billing.run_items import insert_charges, insert_items
from regie_tui.services.billing.run_prices import family_segments, load_prices, rate_segments, unpriced_units
from regie_tui.services.billing.run_tables import create_tables, drop_tables
from regie_tui.services.common.regies import regie_by_code
from regie_tui.services.common.sql import id_of
from regie_tui.services.trust import audit
from regie_tui.services.trust.access import Permission
from regie_tui.services.trust.agents import AgentInfo

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


@dataclass(frozen=True)
class _Month:
    """The month a run bills: its régie, its days (billed until ``until``), its issue day and agent."""

    regie: Regie
    first: date
    last: date
    until: date
    today: date
    agent_id: int | None


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


def preview_month(
    db: Session,
    *,
    regie_code: str,
    month: date,
    today: date,
    agent: AgentInfo,
    progress: Progress | None = None,
) -> MonthRun:
    """The run as it would go (desk work), then rolled back: nothing is issued, no number is taken.

    It writes before rolling back (the run's temporary tables, invoices, numbers), so it runs as
    a write: in a writing unit of work (``session_scope(write=True)``: BEGIN IMMEDIATE on SQLite;
    ``workers.write`` on screen, under the desk's one-writer lock), like :func:`bill_month`."""
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
    regie = regie_by_code(db, code=regie_code)
    first = month.replace(day=1)
    if first > today:
        raise RegieError(f"Le mois {formatting.of_month(first)} n'a pas commencé : rien à facturer.")
    last = month_last_day(first)
    scope = _Month(regie=regie, first=first, last=last, until=min(last, today), today=today, agent_id=agent_id)
    conn = db.connection()
    if conn.dialect.name == "postgresql":  # two runs of one régie queue here; the second then finds nothing left
        db.exec(select(Regie.id).where(Regie.id == id_of(regie)).with_for_update())
    brackets = load_brackets(db)
    if not brackets:
        raise RegieError("Aucune tranche de quotient familial : les tarifs ne sont pas en place.")
    with _sqlite_run_cache(conn):
        run, bills, anomalies, counts = _run_steps(db, scope, brackets, report)
    report(4, len(STEPS), STEPS[4])
    _record_run(db, run, scope, bills)
    report(len(STEPS), len(STEPS), "Terminé")
    return MonthRun(
        regie_code=regie.code,
        regie_name=regie.name,
        month=first,
        issue_date=today,
        billed_until=scope.until,
        families=bills,
        anomalies=anomalies,
        anomaly_counts=counts,
        run_id=run.id if bills else None,
        first_number=bills[0].number if bills else None,
        last_number=bills[-1].number if bills else None,
    )


def _run_steps(
    db: Session, scope: _Month, brackets: list[Bracket], report: Progress
) -> tuple[BillingRun, list[FamilyBill], list[Anomaly], dict[str, int]]:
    """Steps 1 to 4 in the run's working tables: the run (not recorded yet), its bills, its anomalies."""
    conn = db.connection()
    postgresql = conn.dialect.name == "postgresql"
    regie_id = id_of(scope.regie)
    first, until = scope.first, scope.until

    report(0, len(STEPS), STEPS[0])
    segments = family_segments(db, brackets, first, until)
    rates = rate_segments(db, regie_id, first, until)
    create_tables(conn, postgresql)
    load_prices(conn, segments, rates)

    report(1, len(STEPS), STEPS[1])
    insert_items(db, regie_id, first, until)

    report(2, len(STEPS), STEPS[2])
    run = BillingRun(regie_id=regie_id, month=first, issue_date=scope.today, agent_id=scope.agent_id)
    db.add(run)
    db.flush()
    bills = write_invoices(
        db, scope.regie, id_of(run), (first, scope.last), scope.today, scope.agent_id, segments, brackets
    )

    report(3, len(STEPS), STEPS[3])
    insert_charges(conn, regie_id)
    unpriced = unpriced_units(db, regie_id, brackets, first, until, rates)
    anomalies, counts = find_anomalies(db, regie_id, first, until, scope.today, segments, bills, unpriced)
    drop_tables(conn, postgresql)
    return run, bills, anomalies, counts


def _record_run(db: Session, run: BillingRun, scope: _Month, bills: list[FamilyBill]) -> None:
    """The run's record with its totals and numbers, audited; none when nothing was billed."""
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
            agent_id=scope.agent_id,
            after={
                "regie": scope.regie.code,
                "month": scope.first.isoformat(),
                "invoices": len(bills),
                "total_cents": run.total_cents,
                "first": run.first_number,
                "last": run.last_number,
            },
        )
    else:  # nothing billed: no run to remember
        db.delete(run)
    db.flush()


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
