"""The monthly invoicing run and credit notes, on the seeded town (SQLite and PostgreSQL)."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from regie_tui.db import make_engine
from regie_tui.errors import RegieError
from regie_tui.models import (
    Activity,
    Allocation,
    Booking,
    BookingState,
    Charge,
    ChargeKind,
    CreditNote,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Rate,
    Regie,
    Role,
    Unit,
)
from regie_tui.services.billing import credit_notes, invoicing, run_anomalies, run_tables
from regie_tui.services.billing.pricing import line_amount_cents
from regie_tui.services.common.sql import id_col
from regie_tui.services.trust.agents import AgentInfo

from helpers import TODAY, table_of

ADMIN = AgentInfo(id=1, login="agent.test", display_name="agent.test", role=Role.ADMIN)
ACCUEIL = AgentInfo(id=2, login="smoreau", display_name="Sophie Moreau", role=Role.ACCUEIL)

NOVEMBER = date(2026, 11, 1)
OCTOBER = date(2026, 10, 1)


@pytest.fixture
def db(fresh_town_url):
    engine = make_engine(fresh_town_url)
    with Session(engine, expire_on_commit=False) as session:
        yield session
    engine.dispose()


def bill(db: Session, regie: str = "pop", month: date = NOVEMBER) -> invoicing.MonthRun:
    run = invoicing.bill_month(db, regie_code=regie, month=month, today=TODAY, agent=None)
    db.commit()
    return run


def test_months_the_seed_billed_bill_nothing(db):
    for regie in ("pop", "alsh"):
        for month in (date(2026, 9, 1), OCTOBER):
            run = invoicing.preview_month(db, regie_code=regie, month=month, today=TODAY, agent=ADMIN)
            assert run.invoice_count == 0, (regie, month)


@pytest.mark.parametrize("regie", ["pop", "alsh"])
def test_the_run_agrees_with_the_seed_s_invoices(db, regie):
    """Take back October's seeded invoices (charges, payments on them), run October again: same totals.

    alsh bills the Toussaint holidays' "Journée" as one package (Forfait semaine) per week."""
    regie_id = db.exec(select(id_col(Regie.id)).where(Regie.code == regie)).one()
    seeded = {
        family_id: total
        for family_id, total in db.exec(
            select(Invoice.family_id, Invoice.total_cents).where(
                Invoice.regie_id == regie_id, Invoice.period_start == OCTOBER
            )
        )
    }
    assert seeded
    ids = select(id_col(Invoice.id)).where(Invoice.regie_id == regie_id, Invoice.period_start == OCTOBER)
    lines = select(id_col(InvoiceLine.id)).where(col(InvoiceLine.invoice_id).in_(ids))
    conn = db.connection()
    conn.execute(sa.delete(table_of(Charge)).where(table_of(Charge).c.invoice_line_id.in_(lines)))
    conn.execute(sa.delete(table_of(Allocation)).where(table_of(Allocation).c.invoice_id.in_(ids)))
    conn.execute(sa.delete(table_of(CreditNote)).where(table_of(CreditNote).c.invoice_id.in_(ids)))
    conn.execute(sa.delete(table_of(InvoiceLine)).where(table_of(InvoiceLine).c.invoice_id.in_(ids)))
    conn.execute(sa.delete(table_of(Invoice)).where(table_of(Invoice).c.id.in_(ids)))
    run = invoicing.bill_month(db, regie_code=regie, month=OCTOBER, today=TODAY, agent=None)
    assert {f.family_id: f.total_cents for f in run.families} == seeded
    if regie == "alsh":
        kinds = {line.kind for family in run.families for line in family.lines}
        assert kinds == {ChargeKind.PACKAGE}
        assert all(line.label.startswith("Forfait semaine – ALSH") for f in run.families for line in f.lines)


def test_november_one_invoice_per_family_numbered_without_gaps_and_rerun_bills_nothing(db):
    run = bill(db)
    assert run.invoice_count > 5
    numbers = [f.number for f in run.families]
    assert numbers == [f"pop-F2611{n:05d}" for n in range(1, len(numbers) + 1)]
    assert run.first_number == numbers[0] and run.last_number == numbers[-1]
    invoices = db.exec(select(Invoice).where(Invoice.number.in_(numbers))).all()  # type: ignore[attr-defined]
    assert len({i.family_id for i in invoices}) == len(invoices)
    for invoice in invoices:
        lines = db.exec(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)).all()
        assert invoice.total_cents == sum(line.amount_cents for line in lines)
        assert invoice.due_date == date(2026, 12, 23) and invoice.run_id is not None
        for line in lines:
            assert line.amount_cents == line_amount_cents(line.quantity, line.unit_price_cents)
            assert line.rate_id is not None and line.bracket_id is not None and line.basis
            charged = db.exec(select(func.sum(Charge.amount_cents)).where(Charge.invoice_line_id == line.id)).one()
            assert charged == line.amount_cents
    # Every billed booking of November up to today has its charge; nothing else.
    pop_activities = db.exec(
        select(id_col(Activity.id)).join(Regie, col(Regie.id) == Activity.regie_id).where(Regie.code == "pop")
    ).all()
    billed = db.exec(
        select(func.count())
        .select_from(Booking)
        .join(Unit, col(Unit.id) == Booking.unit_id)
        .where(
            col(Booking.state).in_(run_tables.BILLED_STATES),
            Booking.day >= NOVEMBER,
            Booking.day <= TODAY,
            col(Unit.activity_id).in_(pop_activities),
        )
    ).one()
    service = db.exec(
        select(func.count()).select_from(Charge).where(Charge.kind == ChargeKind.SERVICE, Charge.day >= NOVEMBER)
    ).one()
    assert service == billed
    again = bill(db)
    assert again.invoice_count == 0


def test_each_billing_input(db):
    """Justified absence free; unjustified billed with the penalty; presence without booking surcharged."""
    matin = db.exec(select(Unit).where(Unit.name == "Matin")).first()
    assert matin is not None
    wednesday = date(2026, 11, 18)
    bookings = db.exec(
        select(Booking).where(Booking.unit_id == matin.id, Booking.day == wednesday).order_by(col(Booking.id))
    ).all()
    assert len(bookings) >= 3
    justified, unjustified, special = bookings[:3]
    for booking, state in (
        (justified, BookingState.ABSENT_JUSTIFIED),
        (unjustified, BookingState.ABSENT_UNJUSTIFIED),
        (special, BookingState.PRESENT_SPECIAL),
    ):
        booking.state = state
        db.add(booking)
    db.commit()
    bill(db)
    kinds = lambda b: sorted(  # noqa: E731
        (c.kind, c.amount_cents) for c in db.exec(select(Charge).where(Charge.booking_id == b.id))
    )
    assert kinds(justified) == []
    rate = lambda b: db.get(Rate, db.exec(select(Charge.rate_id).where(Charge.booking_id == b.id)).first())  # noqa: E731
    unjustified_rate = rate(unjustified)
    assert kinds(unjustified) == sorted(
        [(ChargeKind.SERVICE, unjustified_rate.amount_cents), (ChargeKind.ABSENCE_PENALTY, 200)]
    )
    special_rate = rate(special)
    assert kinds(special) == [(ChargeKind.SERVICE, special_rate.amount_cents)]  # Matin has no surcharge
    assert (
        db.exec(
            select(InvoiceLine).where(InvoiceLine.kind == ChargeKind.ABSENCE_PENALTY, InvoiceLine.dates == "18")
        ).first()
        is not None
    )


def test_rounding_once_per_line():
    assert line_amount_cents(17, 415) == 7055


def test_a_family_without_valid_quotient_pays_the_top_bracket_with_a_warning(db):
    run = invoicing.preview_month(db, regie_code="pop", month=NOVEMBER, today=TODAY, agent=ADMIN)
    flagged = {a.family_id for a in run.anomalies if a.kind == run_anomalies.AnomalyKind.NO_QUOTIENT}
    assert run.anomaly_counts[run_anomalies.AnomalyKind.NO_QUOTIENT] == len(flagged)
    for family in run.families:
        bases = {line.basis for line in family.lines}
        if family.family_id in flagged:
            assert bases == {"Tranche > 1250 : pas de QF valide"}
        else:
            assert all("pas de QF" not in basis for basis in bases)
    assert db.exec(select(func.count()).select_from(Invoice).where(Invoice.period_start == NOVEMBER)).one() == 0


def test_a_month_not_started_is_refused(db):
    with pytest.raises(RegieError, match="décembre 2026 n'a pas commencé"):
        invoicing.bill_month(db, regie_code="pop", month=date(2026, 12, 1), today=TODAY, agent=None)
    with pytest.raises(RegieError, match="Régie « cantine » inconnue"):
        invoicing.bill_month(db, regie_code="cantine", month=NOVEMBER, today=TODAY, agent=None)


def test_a_credit_note_cancels_and_its_days_can_be_billed_again(db):
    run = bill(db)
    first = run.families[0]
    with pytest.raises(RegieError, match=r"avoirs\) : réservé aux rôles régisseur, administrateur"):
        credit_notes.credit_invoice(db, invoice_number=first.number, reason="Erreur", today=TODAY, agent=ACCUEIL)
    with pytest.raises(RegieError, match="motif obligatoire"):
        credit_notes.credit_invoice(db, invoice_number=first.number, reason=" ", today=TODAY, agent=ADMIN)
    note = credit_notes.credit_invoice(
        db, invoice_number=first.number, reason="Pointage erroné", today=TODAY, agent=ADMIN
    )
    db.commit()
    assert note.number == "pop-A261100001" and note.amount_cents == first.total_cents and note.invoice_cancelled
    invoice = db.exec(select(Invoice).where(Invoice.number == first.number)).one()
    assert invoice.status == InvoiceStatus.CANCELLED
    again = bill(db)
    assert [(f.family_id, f.total_cents) for f in again.families] == [(first.family_id, first.total_cents)]
    assert again.families[0].number == f"pop-F2611{run.invoice_count + 1:05d}"


def test_a_credit_note_by_amount_reduces_and_frees_payments_beyond(db):
    run = bill(db)
    family = run.families[1]
    note = credit_notes.credit_invoice(
        db,
        invoice_number=family.number,
        reason="Geste commercial",
        today=TODAY,
        agent=ADMIN,
        amount_cents=100,
    )
    assert not note.invoice_cancelled and note.lines_freed == 0 and note.released_cents == 0
    with pytest.raises(RegieError, match="dépasse ce qui reste"):
        credit_notes.credit_invoice(
            db,
            invoice_number=family.number,
            reason="Trop",
            today=TODAY,
            agent=ADMIN,
            amount_cents=family.total_cents,
        )
    assert bill(db).invoice_count == 0


def test_a_day_added_to_a_week_already_billed_is_covered_by_its_package(db):
    """A Journée booked later in a Toussaint week whose package is billed: 0 €, on the week's line."""
    found = None
    for line in db.exec(select(InvoiceLine).where(InvoiceLine.kind == ChargeKind.PACKAGE)):
        charges = db.exec(select(Charge).where(Charge.invoice_line_id == line.id).order_by(col(Charge.day))).all()
        paid = next(c for c in charges if c.amount_cents > 0)
        booked = {b.day for b in db.exec(select(Booking).where(Booking.child_id == paid.child_id))}
        free = [paid.day + timedelta(days=i) for i in range(5) if paid.day + timedelta(days=i) not in booked]
        if free and free[-1].month == paid.day.month:
            found = line, paid, free[-1]
            break
    assert found is not None, "the seeded town has no package week with a day left"
    line, paid, free = found
    booking = db.exec(select(Booking).where(Booking.id == paid.booking_id)).one()
    db.add(
        Booking(
            day=free,
            unit_id=booking.unit_id,
            child_id=booking.child_id,
            enrollment_id=booking.enrollment_id,
            state=BookingState.PRESENT,
            source=booking.source,
            changed_at=booking.changed_at,
        )
    )
    db.commit()
    run = invoicing.bill_month(db, regie_code="alsh", month=OCTOBER, today=TODAY, agent=None)
    assert run.invoice_count == 0
    added = db.exec(select(Charge).where(Charge.day == free, Charge.child_id == booking.child_id)).one()
    assert (added.kind, added.amount_cents, added.invoice_line_id) == (ChargeKind.PACKAGE, 0, line.id)


def test_a_booking_without_rate_is_not_billed_and_is_listed(db):
    """The Acc soir rates moved to start on 16 November: the days before have no price."""
    soir = db.exec(select(id_col(Unit.id)).where(Unit.name == "Acc soir")).all()
    for rate in db.exec(select(Rate).where(col(Rate.unit_id).in_(soir))):
        rate.valid_from = date(2026, 11, 16)
        db.add(rate)
    db.commit()
    run = invoicing.preview_month(db, regie_code="pop", month=NOVEMBER, today=TODAY, agent=ADMIN)
    listed = [a for a in run.anomalies if a.kind == run_anomalies.AnomalyKind.NO_RATE]
    unpriced = db.exec(
        select(func.count())
        .select_from(Booking)
        .where(
            col(Booking.unit_id).in_(soir),
            col(Booking.state).in_(run_tables.BILLED_STATES),
            Booking.day >= NOVEMBER,
            Booking.day < date(2026, 11, 16),
        )
    ).one()
    assert unpriced > 0 and run.anomaly_counts[run_anomalies.AnomalyKind.NO_RATE] == unpriced
    assert all("Acc soir" in a.text and "/11/2026" in a.text for a in listed)
    billed_days = {
        int(d)
        for family in run.families
        for line in family.lines
        if line.label.endswith("Acc soir")
        for d in line.dates.split(", ")
    }
    assert billed_days and min(billed_days) >= 16
