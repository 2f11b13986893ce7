"""Reminders: overdue invoices by age, levels due, letters recorded on the family's history."""

from datetime import date

import pytest
from sqlmodel import Session, col, select

from regie_tui.db import make_engine
from regie_tui.errors import RegieError
from regie_tui.models import (
    AuditEntry,
    DebitBatch,
    DirectDebit,
    Family,
    Invoice,
    Mandate,
    MandateSequence,
    Reminder,
)
from regie_tui.services.billing.accounts import family_invoices
from regie_tui.services.billing.reminders import level_for, numbers_at_level, overdue_invoices, send_reminders
from regie_tui.services.common.sql import id_col, id_of
from regie_tui.services.families.history import family_history
from regie_tui.services.trust.agents import resolve_agent

from builders import credit, pay
from helpers import ADMIN_LOGIN, TODAY

#: September invoices are due on 04/11/2026, October's on 05/12/2026: on that day, 98 and 67 days.
LATER = date(2027, 2, 10)


@pytest.fixture
def db(town_url):
    engine = make_engine(town_url)
    with Session(engine) as session:
        yield session
    engine.dispose()


@pytest.fixture
def fresh_db(fresh_town_url):
    engine = make_engine(fresh_town_url)
    with Session(engine) as session:
        yield session
    engine.dispose()


def expected_overdue(db: Session, on: date) -> dict[str, int]:
    """Invoice number -> balance, from the family accounts' own reading (nothing in a live debit in the seed)."""
    found = {}
    for family_id in db.exec(select(id_col(Family.id))):
        for row in family_invoices(db, family_id):
            if row.balance_cents > 0 and (on - row.due_date).days >= 30:
                found[row.number] = row.balance_cents
    return found


@pytest.mark.parametrize(("age", "level"), [(0, 0), (29, 0), (30, 1), (59, 1), (60, 2), (89, 2), (90, 3), (400, 3)])
def test_level_follows_the_age(age, level):
    assert level_for(age) == level


def test_nothing_overdue_today(db):
    """On 23/11/2026 the September invoices are 19 days past due: no reminder yet."""
    report = overdue_invoices(db, on=TODAY)
    assert report.invoices == []
    assert [(b.label, b.count, b.total_cents) for b in report.buckets] == [
        ("30 à 59 jours", 0, 0),
        ("60 à 89 jours", 0, 0),
        ("90 jours et plus", 0, 0),
    ]


def test_overdue_by_age_matches_the_family_accounts(db):
    report = overdue_invoices(db, on=LATER)
    expected = expected_overdue(db, LATER)
    assert expected  # the seeded town has unpaid invoices
    assert {i.number: i.balance_cents for i in report.invoices} == expected
    for invoice in report.invoices:
        assert invoice.age_days == (LATER - invoice.due_date).days
        assert invoice.level_due == (3 if invoice.age_days >= 90 else 2 if invoice.age_days >= 60 else 1)
        assert invoice.to_send and invoice.last_level is None
        assert invoice.balance_cents == invoice.total_cents - invoice.paid_cents
    dues = [i.due_date for i in report.invoices]
    assert dues == sorted(dues)  # oldest first
    by_bucket = {b.code: b for b in report.buckets}
    for code, first, last in (("30", 30, 59), ("60", 60, 89), ("90", 90, 10_000)):
        inside = [i for i in report.invoices if first <= i.age_days <= last]
        assert (by_bucket[code].count, by_bucket[code].total_cents) == (
            len(inside),
            sum(i.balance_cents for i in inside),
        )
    assert report.total_cents == sum(expected.values())
    # one régie only
    alsh = overdue_invoices(db, on=LATER, regie_code="alsh")
    assert alsh.invoices and all(i.number.startswith("alsh-") for i in alsh.invoices)
    assert {i.number for i in alsh.invoices} == {n for n in expected if n.startswith("alsh-")}


def test_payments_credit_notes_and_direct_debits(fresh_db):
    db = fresh_db
    before = {i.number: i for i in overdue_invoices(db, on=LATER).invoices}
    first, second, third = sorted(before.values(), key=lambda i: i.number)[:3]
    invoices = {
        i.number: db.exec(select(Invoice).where(Invoice.number == i.number)).one() for i in (first, second, third)
    }
    # partly paid and credited: the balance left is reminded
    pay(db, first.family_id, invoices[first.number].regie_id, first.invoice_id, 1000, "T-1")
    credit(db, first.invoice_id, 200, "T-AV1")
    # fully paid: no longer overdue
    pay(db, second.family_id, invoices[second.number].regie_id, second.invoice_id, second.balance_cents, "T-2")
    # in a live SEPA collection: not overdue; once the debit is rejected, overdue again
    mandate = Mandate(
        family_id=third.family_id,
        regie_id=invoices[third.number].regie_id,
        rum="TEST-RUM-1",
        debtor_name="X",
        debtor_address="Y",
        iban="FR7630006000011234567890189",
        signed_on=date(2026, 1, 5),
        next_sequence=MandateSequence.RECURRENT,
    )
    batch = DebitBatch(
        regie_id=invoices[third.number].regie_id,
        message_id="TEST-MSG-1",
        collection_date=date(2027, 2, 15),
        transaction_count=1,
        total_cents=third.balance_cents,
    )
    db.add(mandate)
    db.add(batch)
    db.flush()
    debit = DirectDebit(
        batch_id=id_of(batch),
        invoice_id=third.invoice_id,
        mandate_id=id_of(mandate),
        amount_cents=third.balance_cents,
        sequence=MandateSequence.RECURRENT,
        end_to_end_id="TEST-E2E-1",
    )
    db.add(debit)
    db.flush()

    after = {i.number: i for i in overdue_invoices(db, on=LATER).invoices}
    assert after[first.number].balance_cents == first.balance_cents - 1200
    assert after[first.number].paid_cents == first.paid_cents + 1200
    assert second.number not in after
    assert third.number not in after

    debit.rejected_on = date(2027, 2, 16)
    db.flush()
    assert third.number in {i.number for i in overdue_invoices(db, on=LATER).invoices}


def test_send_reminders_records_them_on_the_family_history(fresh_db):
    db = fresh_db
    admin = resolve_agent(db, ADMIN_LOGIN)
    report = overdue_invoices(db, on=LATER)
    level3 = numbers_at_level(report, 3)
    level2 = numbers_at_level(report, 2)
    assert level3 and level2
    chosen = [level3[0], level2[0]]
    rows = {i.number: i for i in report.invoices}

    sent = send_reminders(db, invoice_numbers=chosen, on=LATER, agent_id=admin.id)
    db.commit()
    assert sent.skipped == []
    assert [(letter.invoice_number, letter.level) for letter in sent.letters] == [(chosen[0], 3), (chosen[1], 2)]
    letter = sent.letters[0]
    assert letter.balance_cents == rows[chosen[0]].balance_cents
    assert letter.debtor_name == rows[chosen[0]].debtor_name and letter.issuer.town == "Ville de Rivebelle"
    assert letter.payfip_reference == chosen[0] and letter.issuer.payfip_client_number

    stored = db.exec(select(Reminder).order_by(col(Reminder.id))).all()
    assert [(r.invoice_id, r.level, r.sent_on, r.created_by_id) for r in stored] == [
        (rows[chosen[0]].invoice_id, 3, LATER, admin.id),
        (rows[chosen[1]].invoice_id, 2, LATER, admin.id),
    ]
    history = family_history(db, family_id=rows[chosen[0]].family_id, agent=admin, today=LATER, kind="payments")
    reminder = next(h for h in history if h.action == "reminder")
    assert reminder.entity == "invoice" and reminder.kind == "payments" and reminder.who
    assert reminder.after == {
        "invoice": chosen[0],
        "level": 3,
        "due_date": rows[chosen[0]].due_date.isoformat(),
        "balance_cents": rows[chosen[0]].balance_cents,
    }

    # listed with the last reminder sent; the same level again is skipped, nothing recorded twice
    again = {i.number: i for i in overdue_invoices(db, on=LATER).invoices}
    assert (again[chosen[0]].last_level, again[chosen[0]].last_sent_on, again[chosen[0]].to_send) == (3, LATER, False)
    assert chosen[0] not in numbers_at_level(overdue_invoices(db, on=LATER), 3)
    twice = send_reminders(db, invoice_numbers=chosen, on=LATER, agent_id=admin.id)
    assert twice.letters == [] and twice.skipped == chosen
    assert len(db.exec(select(Reminder)).all()) == 2

    # a month later the level-2 invoice is 90 days past due: its third reminder is due
    month_later = date(2027, 3, 12)
    third = send_reminders(db, invoice_numbers=[chosen[1]], on=month_later, agent_id=admin.id)
    assert [(letter.level, letter.sent_on) for letter in third.letters] == [(3, month_later)]
    db.commit()
    assert len(db.exec(select(AuditEntry).where(AuditEntry.action == "reminder")).all()) == 3


def test_send_is_all_or_nothing(fresh_db):
    db = fresh_db
    admin = resolve_agent(db, ADMIN_LOGIN)
    overdue = overdue_invoices(db, on=LATER).invoices[0].number
    with pytest.raises(RegieError, match="introuvable : pop-F999"):
        send_reminders(db, invoice_numbers=[overdue, "pop-F999"], on=LATER, agent_id=admin.id)
    # an invoice not 30 days past due yet (on 23/11/2026 none is)
    with pytest.raises(RegieError, match="Pas de relance possible"):
        send_reminders(db, invoice_numbers=[overdue], on=TODAY, agent_id=admin.id)
    with pytest.raises(RegieError, match="Aucune facture"):
        send_reminders(db, invoice_numbers=[" "], on=LATER, agent_id=admin.id)
    with pytest.raises(RegieError, match="Niveau de relance 4"):
        numbers_at_level(overdue_invoices(db, on=LATER), 4)
    assert db.exec(select(Reminder)).all() == []
