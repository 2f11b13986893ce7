"""Payments: online (PayFiP) and at the desk, their allocation, credit, cancelling, the cash journal."""

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import Session, col, select

from regie_tui.db import make_engine
from regie_tui.errors import AccessDenied, RegieError
from regie_tui.formatting import age_on, short_date
from regie_tui.models import (
    CASH_LIMIT_CENTS,
    Activity,
    ActivityKind,
    Agent,
    Allocation,
    AuditEntry,
    CashDay,
    Child,
    Family,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    NumberSequence,
    Payment,
    PaymentMode,
    Regie,
    Role,
    Source,
    Unit,
)
from regie_tui.services.billing.accounts import InvoiceRow, family_balances, family_invoices
from regie_tui.services.billing.numbering import NumberKind, take_number
from regie_tui.services.common.sql import id_col, id_of
from regie_tui.services.common.validation import parse_money
from regie_tui.services.payments.account import OpenInvoice, family_credit, open_invoices
from regie_tui.services.payments.allocation import Allocated
from regie_tui.services.payments.cash_journal import cash_journal, close_cash_day
from regie_tui.services.payments.modes import parse_mode
from regie_tui.services.payments.recording import PaymentRecorded, record_online_payment, record_payment
from regie_tui.services.payments.situation import family_situation
from regie_tui.services.payments.undoing import cancel_payment, reject_payment

from builders import add_family, add_invoice, pay
from helpers import TODAY_HOUR, get_row

PAID_AT = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)  # 00:30 on the 23rd in Paris


@pytest.fixture
def town(fresh_town_url):
    engine = make_engine(fresh_town_url)
    yield engine
    engine.dispose()


def unpaid_invoices(session: Session, *, partly_paid: bool = False) -> list[tuple[int, InvoiceRow]]:
    """(family id, invoice row) of the town's issued invoices with a balance, by number."""
    found = []
    for family_id in session.exec(select(id_col(Family.id)).order_by(col(Family.id))).all():
        for row in family_invoices(session, family_id):
            if row.balance_cents > 0 and (row.paid_cents > 0) == partly_paid:
                found.append((family_id, row))
    return sorted(found, key=lambda pair: pair[1].number)


def last_receipt(session: Session, series: str) -> int:
    return session.exec(select(NumberSequence.last_value).where(NumberSequence.series == series)).one()


def test_online_payment_settles_the_invoice_with_a_numbered_receipt(town):
    with Session(town) as session:
        family_id, invoice = next((f, i) for f, i in unpaid_invoices(session) if i.number.startswith("pop-"))
        balance_before = family_balances(session, [family_id])[family_id]
        last = last_receipt(session, "receipt:pop-R2611")
        done = record_online_payment(
            session,
            family_id=family_id,
            invoice_number=invoice.number,
            amount_cents=invoice.balance_cents,
            paid_at=PAID_AT,
            reference="PAYFIP-000123",
            agent_id=None,
        )
        session.commit()

    assert done.receipt_number == f"pop-R2611{last + 1:05d}"  # continues the régie's receipts of November
    assert done.received_on == date(2026, 11, 23)  # the Paris day
    assert done.balance_after_cents == 0
    with Session(town) as session:
        row = next(i for i in family_invoices(session, family_id) if i.number == invoice.number)
        assert row.balance_cents == 0 and row.paid_cents == invoice.total_cents
        assert family_balances(session, [family_id]).get(family_id, 0) == balance_before - invoice.balance_cents
        payment = session.exec(select(Payment).where(Payment.receipt_number == done.receipt_number)).one()
        assert (payment.mode, payment.amount_cents, payment.reference) == (
            PaymentMode.PAYFIP,
            invoice.balance_cents,
            "PAYFIP-000123",
        )
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "online_payment")).one()
        assert entry.entity == "payment" and entry.entity_id == payment.id and entry.family_id == family_id
        assert entry.source == Source.PORTAL
        assert entry.after == {
            "invoice": invoice.number,
            "amount_cents": invoice.balance_cents,
            "reference": "PAYFIP-000123",
            "receipt": done.receipt_number,
        }

        # The same PayFiP transaction again, then the paid invoice again: both refused.
        with pytest.raises(RegieError, match="déjà enregistré"):
            record_online_payment(
                session,
                family_id=family_id,
                invoice_number=invoice.number,
                amount_cents=invoice.balance_cents,
                paid_at=PAID_AT,
                reference="PAYFIP-000123",
                agent_id=None,
            )
        with pytest.raises(RegieError, match="déjà réglée"):
            record_online_payment(
                session,
                family_id=family_id,
                invoice_number=invoice.number,
                amount_cents=invoice.balance_cents,
                paid_at=PAID_AT,
                reference="PAYFIP-000124",
                agent_id=None,
            )


def test_a_partly_paid_invoice_is_paid_online_for_its_balance_only(town):
    with Session(town) as session:
        family_id, unpaid = unpaid_invoices(session)[0]
        record = session.exec(select(Invoice).where(Invoice.number == unpaid.number)).one()
        pay(session, family_id, record.regie_id, id_of(record), 1000, "TEST-R1")  # a cheque of 10 € at the desk
        session.commit()
        invoice = next(i for _, i in unpaid_invoices(session, partly_paid=True) if i.number == unpaid.number)
        assert invoice.balance_cents == invoice.total_cents - 1000
        with pytest.raises(RegieError, match=f"dépasse le solde dû de la facture {invoice.number} à ce jour"):
            record_online_payment(
                session,
                family_id=family_id,
                invoice_number=invoice.number,
                amount_cents=invoice.total_cents,
                paid_at=PAID_AT,
                reference="PAYFIP-9",
                agent_id=None,
            )
        with pytest.raises(RegieError, match="paiement partiel n'est pas admis"):
            record_online_payment(
                session,
                family_id=family_id,
                invoice_number=invoice.number,
                amount_cents=invoice.balance_cents - 1,
                paid_at=PAID_AT,
                reference="PAYFIP-9",
                agent_id=None,
            )
        done = record_online_payment(
            session,
            family_id=family_id,
            invoice_number=invoice.number,
            amount_cents=invoice.balance_cents,
            paid_at=PAID_AT,
            reference="PAYFIP-9",
            agent_id=None,
        )
        session.commit()
        assert done.balance_after_cents == 0
        assert next(i for i in family_invoices(session, family_id) if i.number == invoice.number).balance_cents == 0


def test_refusals_leave_nothing_written(town):
    with Session(town) as session:
        family_id, invoice = unpaid_invoices(session)[0]
        other_family = session.exec(select(id_col(Family.id)).where(Family.id != family_id)).first()
        payments_before = session.exec(select(func.count()).select_from(Payment)).one()

        def pay(**changes):
            arguments: dict[str, Any] = {
                "family_id": family_id,
                "invoice_number": invoice.number,
                "amount_cents": invoice.balance_cents,
                "paid_at": PAID_AT,
                "reference": "PAYFIP-X",
                "agent_id": None,
            } | changes
            return record_online_payment(session, **arguments)

        with pytest.raises(RegieError, match="n'est pas une facture de cette famille"):
            pay(family_id=other_family)
        with pytest.raises(RegieError, match="introuvable"):
            pay(invoice_number="pop-F999900001")
        with pytest.raises(RegieError, match="ne correspond pas au solde"):
            pay(amount_cents=invoice.balance_cents - 1)
        with pytest.raises(RegieError, match="sans référence"):
            pay(reference="  ")
        with pytest.raises(RegieError, match="sans fuseau"):
            pay(paid_at=datetime(2026, 11, 22, 10, 0))
        cancelled = session.exec(select(Invoice).where(Invoice.number == invoice.number)).one()
        cancelled.status = InvoiceStatus.CANCELLED
        session.add(cancelled)
        session.flush()
        with pytest.raises(RegieError, match="annulée"):
            pay()
        session.rollback()
        assert session.exec(select(func.count()).select_from(Payment)).one() == payments_before


def test_numbers_start_a_new_series_continue_it_and_a_rollback_gives_them_back(engine):
    november = date(2026, 11, 1)
    with Session(engine) as session:
        first = take_number(session, kind=NumberKind.RECEIPT, regie_prefix="pop", month=november)
        second = take_number(session, kind=NumberKind.RECEIPT, regie_prefix="pop", month=november)
        other = take_number(session, kind=NumberKind.INVOICE, regie_prefix="pop", month=november)
        session.commit()
    assert (first, second, other) == ("pop-R261100001", "pop-R261100002", "pop-F261100001")
    with Session(engine) as session:
        assert take_number(session, kind=NumberKind.RECEIPT, regie_prefix="pop", month=november) == "pop-R261100003"
        session.rollback()
    with Session(engine) as session:
        assert take_number(session, kind=NumberKind.RECEIPT, regie_prefix="pop", month=november) == "pop-R261100003"
        session.commit()


def test_agents_taking_numbers_at_once_get_each_number_once(db_url):
    """Eight agents, five receipts each, each in its own transaction: 1 … 40, no gap, no twice."""
    engine = make_engine(db_url)
    taken: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def agent() -> None:
        try:
            start.wait()
            for _ in range(5):
                with Session(engine) as session:
                    number = take_number(session, kind=NumberKind.RECEIPT, regie_prefix="alsh", month=date(2027, 1, 1))
                    session.commit()
                taken.append(number)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=agent) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engine.dispose()
    assert not errors
    assert sorted(taken) == [f"alsh-R2701{n:05d}" for n in range(1, 41)]


# ------------------------------------------------------------- payments at the desk

DAY = date(2026, 11, 23)


def agent_id(session: Session, role: Role) -> int:
    found = session.exec(select(id_col(Agent.id)).where(Agent.role == role)).first()
    assert found is not None, f"the town has an agent of role {role}"
    return found


def regie_id_of(session: Session, code: str) -> int:
    return session.exec(select(id_col(Regie.id)).where(Regie.code == code)).one()


def family_with_open(session: Session, code: str, at_least: int = 1) -> tuple[int, list[OpenInvoice]]:
    """A family with open invoices in the régie ``code``, and those invoices, oldest first."""
    regie_id = regie_id_of(session, code)
    for family_id in session.exec(select(id_col(Family.id)).order_by(col(Family.id))).all():
        found = open_invoices(session, family_id=family_id, regie_id=regie_id)
        if len(found) >= at_least:
            return family_id, found
    raise AssertionError(f"no family with {at_least} open invoices in {code}")


def balance_of(session: Session, family_id: int, number: str) -> int:
    return next(i for i in family_invoices(session, family_id) if i.number == number).balance_cents


def desk(session: Session, family_id: int, code: str = "pop", **changes) -> PaymentRecorded:
    arguments: dict[str, Any] = {
        "family_id": family_id,
        "regie_id": regie_id_of(session, code),
        "mode": PaymentMode.CARD,
        "amount_cents": 1000,
        "received_on": DAY,
        "agent_id": agent_id(session, Role.ACCUEIL),
    } | changes
    return record_payment(session, **arguments)


def test_parse_amount_and_mode_as_typed_in_french():
    assert [parse_money(t) for t in ("12,50", "12.50", "12", "12,5", "1 234,56 €", "0,01")] == [
        1250,
        1250,
        1200,
        1250,
        123456,
        1,
    ]
    for bad in ("", "abc", "12,505", "-3", "0", "12,50,1"):
        with pytest.raises(RegieError):
            parse_money(bad)
    assert parse_mode("Espèces") == PaymentMode.CASH
    assert parse_mode("chèque") == PaymentMode.CHEQUE
    assert parse_mode("prelevement") == PaymentMode.DIRECT_DEBIT
    assert parse_mode("Chèques vacances") == PaymentMode.ANCV
    with pytest.raises(RegieError, match="Mode de règlement inconnu"):
        parse_mode("bitcoin")


def test_payment_goes_to_the_oldest_invoices_then_to_credit_which_the_next_payment_uses_first(town):
    with Session(town) as session:
        family_id, found = family_with_open(session, "pop")
        due = sum(i.balance_cents for i in found)
        done = desk(session, family_id, amount_cents=due + 500)
        session.commit()
        # every open invoice settled, oldest first, the 5 € left as the family's credit
        assert [(a.invoice_number, a.amount_cents, a.balance_after_cents) for a in done.allocations] == [
            (i.number, i.balance_cents, 0) for i in found
        ]
        assert done.credit_left_cents == 500
        assert family_credit(session, family_id=family_id, regie_id=regie_id_of(session, "pop")) == 500
        assert open_invoices(session, family_id=family_id, regie_id=regie_id_of(session, "pop")) == []

        # An older payment entered by mistake is cancelled: its invoice reopens …
        older = session.exec(
            select(Payment)
            .where(Payment.family_id == family_id, Payment.regie_id == regie_id_of(session, "pop"))
            .where(Payment.receipt_number != done.receipt_number)
            .order_by(col(Payment.received_on))
        ).first()
        assert older is not None
        undone = cancel_payment(session, receipt_number=older.receipt_number, reason="Saisie en double", agent_id=None)
        session.commit()
        reopened_number, reopened_cents = undone.reopened[0]
        assert balance_of(session, family_id, reopened_number) == reopened_cents

        # … and the next payment puts the credit on it first, then its own money.
        second = desk(session, family_id, mode=PaymentMode.CHEQUE, amount_cents=1000, reference="1234567", bank="CIC")
        session.commit()
        assert second.credit_used_cents == 500
        assert second.allocations[0] == Allocated(reopened_number, 500, reopened_cents - 500, from_credit=True)
        assert second.allocations[1].invoice_number == reopened_number
        assert second.allocations[1].amount_cents == min(1000, reopened_cents - 500)
        assert family_credit(session, family_id=family_id, regie_id=regie_id_of(session, "pop")) == max(
            0, 1500 - reopened_cents
        )
        assert balance_of(session, family_id, reopened_number) == max(0, reopened_cents - 1500)
        entry = session.exec(
            select(AuditEntry).where(AuditEntry.action == "payment", AuditEntry.entity_id == second.payment_id)
        ).one()
        assert entry.after is not None
        assert entry.after["credit_used"] == [
            {"receipt": done.receipt_number, "invoice": reopened_number, "amount_cents": 500}
        ]
        assert entry.after is not None
        assert entry.after["mode"] == "cheque" and entry.after["bank"] == "CIC"


def test_payment_of_chosen_invoices_stays_on_them(town):
    with Session(town) as session:
        family_id, found = family_with_open(session, "pop")
        newest = found[-1]
        done = desk(session, family_id, amount_cents=newest.balance_cents + 700, invoice_numbers=[newest.number])
        session.commit()
        assert [(a.invoice_number, a.amount_cents) for a in done.allocations] == [(newest.number, newest.balance_cents)]
        assert done.credit_left_cents == 700  # not spread over the other invoices
        for other in found[:-1]:
            assert balance_of(session, family_id, other.number) == other.balance_cents
        with pytest.raises(RegieError, match="déjà réglée"):
            desk(session, family_id, invoice_numbers=[newest.number])
        other_family = session.exec(select(id_col(Family.id)).where(Family.id != family_id)).first()
        assert other_family is not None
        with pytest.raises(RegieError, match="n'est pas une facture de cette famille"):
            desk(session, other_family, invoice_numbers=[newest.number])
        with pytest.raises(RegieError, match="n'est pas de cette régie"):
            desk(session, family_id, "alsh", invoice_numbers=[newest.number])
        with pytest.raises(RegieError, match="introuvable"):
            desk(session, family_id, invoice_numbers=["pop-F999900001"])


def test_mode_rules_refuse_and_write_nothing(town):
    with Session(town) as session:
        family_id, found = family_with_open(session, "pop")
        count = session.exec(select(func.count()).select_from(Payment)).one()
        with pytest.raises(RegieError, match="espèces est limité à 300,00"):
            desk(session, family_id, mode=PaymentMode.CASH, amount_cents=CASH_LIMIT_CENTS + 1)
        with pytest.raises(RegieError, match="numéro et sa banque"):
            desk(session, family_id, mode=PaymentMode.CHEQUE, reference="1234567")
        with pytest.raises(RegieError, match="numéro et sa banque"):
            desk(session, family_id, mode=PaymentMode.CHEQUE, bank="CIC")
        with pytest.raises(RegieError, match="supérieur à zéro"):
            desk(session, family_id, amount_cents=0)
        with pytest.raises(RegieError, match="une seule facture"):
            desk(session, family_id, mode=PaymentMode.PAYFIP, reference="PF-1")
        with pytest.raises(RegieError, match="une seule facture"):
            desk(session, family_id, mode=PaymentMode.DIRECT_DEBIT)
        with pytest.raises(RegieError, match="paiement partiel n'est pas admis"):
            desk(
                session,
                family_id,
                mode=PaymentMode.PAYFIP,
                reference="PF-1",
                amount_cents=found[0].balance_cents - 1,
                invoice_numbers=[found[0].number],
            )
        session.rollback()
        assert session.exec(select(func.count()).select_from(Payment)).one() == count
        # exactly 300 € in cash is fine
        done = desk(session, family_id, mode=PaymentMode.CASH, amount_cents=CASH_LIMIT_CENTS)
        assert done.receipt_number.startswith("pop-R2611")


def cesu_payable(session: Session, invoice_number: str) -> int:
    """The plain way: lines that are not meals, of a child under 6 on every day billed."""
    invoice = session.exec(select(Invoice).where(Invoice.number == invoice_number)).one()
    total = 0
    for line in session.exec(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)):
        if line.unit_id is None or line.child_id is None:
            continue
        unit = session.get(Unit, line.unit_id)
        assert unit is not None
        kind = get_row(session, Activity, unit.activity_id).kind
        if unit.name.startswith("Repas") or kind == ActivityKind.CANTEEN:
            continue
        birth = get_row(session, Child, line.child_id).birth_date
        days = [invoice.period_start.replace(day=int(d)) for d in line.dates.split(",")]
        if all(age_on(birth, d) < 6 for d in days):
            total += line.amount_cents
    return total


def test_cesu_pays_only_childcare_of_children_under_six_never_meals(town):
    with Session(town) as session:
        candidates = []
        for family_id in session.exec(select(id_col(Family.id)).order_by(col(Family.id))).all():
            for invoice in open_invoices(session, family_id=family_id, regie_id=regie_id_of(session, "pop")):
                if invoice.balance_cents == invoice.total_cents:
                    candidates.append((family_id, invoice, cesu_payable(session, invoice.number)))
        family_id, invoice, payable = next(c for c in candidates if 0 < c[2] < c[1].total_cents)
        with pytest.raises(RegieError, match="CESU ne règle que l'accueil"):
            desk(session, family_id, mode=PaymentMode.CESU, amount_cents=payable + 1, invoice_numbers=[invoice.number])
        done = desk(session, family_id, mode=PaymentMode.CESU, amount_cents=payable, invoice_numbers=[invoice.number])
        assert done.allocations[0].amount_cents == payable and done.credit_left_cents == 0
        # paid by CESU once: nothing more is eligible on it
        with pytest.raises(RegieError, match=r"0,00\s€ au plus"):
            desk(session, family_id, mode=PaymentMode.CESU, amount_cents=100, invoice_numbers=[invoice.number])
        # an invoice of meals only, or of older children only, takes no CESU
        none = next((c for c in candidates if c[2] == 0), None)
        if none is not None:
            with pytest.raises(RegieError, match="CESU ne règle que l'accueil"):
                desk(session, none[0], mode=PaymentMode.CESU, amount_cents=100, invoice_numbers=[none[1].number])


def test_cancel_and_reject_need_a_reason_reopen_the_invoices_and_are_audited(town):
    with Session(town) as session:
        family_id, found = family_with_open(session, "pop")
        first = found[0]
        cheque = desk(
            session,
            family_id,
            mode=PaymentMode.CHEQUE,
            amount_cents=first.balance_cents,
            reference="7654321",
            bank="La Banque Postale",
        )
        cash = desk(session, family_id, mode=PaymentMode.CASH, amount_cents=100)
        session.commit()
        assert balance_of(session, family_id, first.number) == 0
        with pytest.raises(RegieError, match="Motif obligatoire"):
            reject_payment(session, receipt_number=cheque.receipt_number, rejected_on=DAY, reason=" ", agent_id=None)
        with pytest.raises(RegieError, match="ne revient pas impayé"):
            reject_payment(session, receipt_number=cash.receipt_number, rejected_on=DAY, reason="x", agent_id=None)
        with pytest.raises(RegieError, match="antérieure"):
            reject_payment(
                session, receipt_number=cheque.receipt_number, rejected_on=date(2026, 11, 1), reason="x", agent_id=None
            )
        regisseur = agent_id(session, Role.REGISSEUR)
        done = reject_payment(
            session,
            receipt_number=cheque.receipt_number,
            rejected_on=DAY,
            reason="Chèque sans provision",
            agent_id=regisseur,
        )
        session.commit()
        assert done.reopened == ((first.number, first.balance_cents),)
        assert balance_of(session, family_id, first.number) == first.balance_cents
        payment = session.exec(select(Payment).where(Payment.receipt_number == cheque.receipt_number)).one()
        assert (payment.rejected_on, payment.rejection_reason) == (DAY, "Chèque sans provision")
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "payment_reject")).one()
        assert entry.agent_id == regisseur and entry.family_id == family_id
        assert entry.before == {"allocations": [{"invoice": first.number, "amount_cents": first.balance_cents}]}
        # the rejected cheque's money counts nothing; the 1 € in cash (nothing left to pay) is credit
        assert family_credit(session, family_id=family_id, regie_id=regie_id_of(session, "pop")) == 100

        with pytest.raises(RegieError, match="déjà rejeté"):
            cancel_payment(session, receipt_number=cheque.receipt_number, reason="x", agent_id=None)
        with pytest.raises(RegieError, match="Motif obligatoire"):
            cancel_payment(session, receipt_number=cash.receipt_number, reason="", agent_id=None)
        cancel_payment(session, receipt_number=cash.receipt_number, reason="Erreur de famille", agent_id=regisseur)
        session.commit()
        payment = session.exec(select(Payment).where(Payment.receipt_number == cash.receipt_number)).one()
        assert (payment.cancelled_on, payment.cancel_reason, payment.cancelled_by_id) == (
            DAY,
            "Erreur de famille",
            regisseur,
        )
        assert balance_of(session, family_id, first.number) == first.balance_cents
        assert family_credit(session, family_id=family_id, regie_id=regie_id_of(session, "pop")) == 0
        with pytest.raises(RegieError, match="déjà annulé"):
            cancel_payment(session, receipt_number=cash.receipt_number, reason="x", agent_id=None)
        with pytest.raises(RegieError, match="introuvable"):
            cancel_payment(session, receipt_number="pop-R999900001", reason="x", agent_id=None)


def test_journal_totals_per_mode_and_a_closed_day_is_locked(town, monkeypatch):
    with Session(town) as session:
        before = cash_journal(session, day=DAY, regie_id=regie_id_of(session, "pop")).regies[0]
        family_id, _ = family_with_open(session, "pop")
        desk(session, family_id, mode=PaymentMode.CASH, amount_cents=2000)
        desk(session, family_id, mode=PaymentMode.CASH, amount_cents=1550)
        desk(session, family_id, mode=PaymentMode.CHEQUE, amount_cents=5000, reference="1111111", bank="CIC")
        wrong = desk(session, family_id, mode=PaymentMode.CARD, amount_cents=999)
        cancel_payment(session, receipt_number=wrong.receipt_number, reason="Mauvais montant", agent_id=None)
        session.commit()

        journal = cash_journal(session, day=DAY, regie_id=regie_id_of(session, "pop"))
        pop = journal.regies[0]
        totals = {t.mode: (t.count, t.total_cents) for t in pop.totals}
        old = {t.mode: (t.count, t.total_cents) for t in before.totals}
        assert totals[PaymentMode.CASH] == (
            old.get(PaymentMode.CASH, (0, 0))[0] + 2,
            old.get(PaymentMode.CASH, (0, 0))[1] + 3550,
        )
        assert totals[PaymentMode.CHEQUE][1] == old.get(PaymentMode.CHEQUE, (0, 0))[1] + 5000
        assert totals.get(PaymentMode.CARD, (0, 0)) == old.get(
            PaymentMode.CARD, (0, 0)
        )  # the cancelled one counts nothing
        assert pop.count == before.count + 3 and pop.total_cents == before.total_cents + 8550
        assert pop.lines[-1].state == "annulé" and pop.lines[-1].state_reason == "Mauvais montant"
        assert pop.lines[-1].running_cents == pop.total_cents
        assert not pop.closed

        with pytest.raises(AccessDenied, match="régisseur"):
            close_cash_day(session, regie_id=pop.regie_id, day=DAY, agent_id=agent_id(session, Role.ACCUEIL))
        with pytest.raises(RegieError, match="pas encore passé"):
            close_cash_day(
                session, regie_id=pop.regie_id, day=date(2026, 11, 24), agent_id=agent_id(session, Role.REGISSEUR)
            )
        closed = close_cash_day(session, regie_id=pop.regie_id, day=DAY, agent_id=agent_id(session, Role.REGISSEUR))
        session.commit()
        assert (closed.payment_count, closed.total_cents) == (pop.count, pop.total_cents)
        again = cash_journal(session, day=DAY, regie_id=pop.regie_id).regies[0]
        assert (
            again.closed and again.closed_by == get_row(session, Agent, agent_id(session, Role.REGISSEUR)).display_name
        )
        row = session.exec(select(CashDay).where(CashDay.regie_id == pop.regie_id, CashDay.day == DAY)).one()
        assert (row.payment_count, row.total_cents) == (pop.count, pop.total_cents)

        with pytest.raises(RegieError, match="journée de caisse du 23/11/2026 de la régie pop est clôturée"):
            desk(session, family_id, mode=PaymentMode.CASH, amount_cents=100)
        cheque = next(line for line in again.lines if line.reference == "1111111")
        with pytest.raises(RegieError, match="ne peut plus être annulé"):
            cancel_payment(session, receipt_number=cheque.receipt_number, reason="x", agent_id=None)
        with pytest.raises(RegieError, match="déjà close"):
            close_cash_day(session, regie_id=pop.regie_id, day=DAY, agent_id=agent_id(session, Role.REGISSEUR))
        # a returned cheque is still recorded after the closing, on a later day; the day's totals stay
        monkeypatch.setenv("REGIE_TODAY", f"2026-11-24T{TODAY_HOUR}")
        reject_payment(
            session,
            receipt_number=cheque.receipt_number,
            rejected_on=DAY + timedelta(days=1),
            reason="Impayé",
            agent_id=None,
        )
        session.commit()
        assert cash_journal(session, day=DAY, regie_id=pop.regie_id).regies[0].total_cents == pop.total_cents
        # the other régie's day is still open
        desk(session, family_id, "alsh", mode=PaymentMode.CASH, amount_cents=100)


def test_family_situation_at_a_date(town):
    with Session(town) as session:
        family_id, found = family_with_open(session, "pop")
        first = found[0]
        eve, later = DAY - timedelta(days=1), DAY
        before = family_situation(session, family_id=family_id, on=eve)
        desk(session, family_id, amount_cents=first.balance_cents + 300, received_on=later)
        session.commit()
        now = family_situation(session, family_id=family_id, on=later)
        then = family_situation(session, family_id=family_id, on=eve)
        assert then == before  # the payment of the 23rd does not exist on the 22nd
        row = next(i for i in now.invoices if i.number == first.number)
        assert (row.paid_cents, row.balance_cents) == (row.total_cents - row.credited_cents, 0)
        assert now.due_cents == before.due_cents - first.balance_cents
        assert now.unpaid_count == before.unpaid_count - 1
        assert now.credit_cents == before.credit_cents + 300
        assert now.net_due_cents == now.due_cents - now.credit_cents
        assert now.payments[0].received_on == later and now.payments[0].amount_cents == first.balance_cents + 300
        # as the family file and the portal count it
        assert now.due_cents == sum(
            i.balance_cents for i in family_invoices(session, family_id) if i.issue_date <= later
        )


def test_a_desk_payment_cannot_be_dated_in_the_future(town):
    with Session(town) as session:
        family_id, _ = family_with_open(session, "pop")
        with pytest.raises(RegieError, match="Date d'encaissement 24/11/2026 dans le futur"):
            desk(session, family_id, received_on=DAY + timedelta(days=1))


def test_the_family_file_shows_the_family_s_credit(town):
    """An overpayment is the family's credit, every régie counted: the family file shows it."""
    from regie_tui.services.families.file import family_detail
    from regie_tui.services.trust.agents import resolve_agent

    from helpers import ADMIN_LOGIN

    with Session(town) as session:
        family_id, found = family_with_open(session, "pop")
        agent = resolve_agent(session, ADMIN_LOGIN)
        before = family_detail(session, family_id, agent=agent, today=DAY).credit_cents
        due = sum(i.balance_cents for i in found)
        desk(session, family_id, amount_cents=due + 1234)
        session.commit()
        assert family_detail(session, family_id, agent=agent, today=DAY).credit_cents == before + 1234
        assert family_credit(session, family_id=family_id) == before + 1234


# ------------------------------------------------- money records stay closed (issue 15)


def written(session: Session) -> tuple[int, int, int]:
    """What a refused money movement must leave as it was: payments, audit entries, receipt numbers."""
    return (
        session.exec(select(func.count()).select_from(Payment)).one(),
        session.exec(select(func.count()).select_from(AuditEntry)).one(),
        session.exec(select(func.coalesce(func.sum(NumberSequence.last_value), 0))).one(),
    )


def refused_with(message: str, call) -> None:
    with pytest.raises(RegieError) as refused:
        call()
    assert refused.value.message == message


def test_a_desk_payment_is_dated_after_the_closed_days_by_today_and_not_before_last_year(town):
    with Session(town) as session:
        family_id, _ = family_with_open(session, "pop")
        regisseur = agent_id(session, Role.REGISSEUR)
        close_cash_day(session, regie_id=regie_id_of(session, "pop"), day=date(2026, 11, 20), agent_id=regisseur)
        session.commit()
        before = written(session)
        closed = "La journée de caisse du 20/11/2026 de la régie pop est clôturée : "
        for day, message in [
            (
                date(2026, 11, 20),
                closed + "aucun règlement ne peut plus être daté de ce jour (le 21/11/2026 au plus tôt).",
            ),
            (
                date(2026, 11, 2),
                closed + "aucun règlement ne peut plus être daté du 02/11/2026 (le 21/11/2026 au plus tôt).",
            ),
            (
                date(2024, 12, 31),
                "Date d'encaissement 31/12/2024 trop ancienne : un règlement se date au plus tôt du 01/01/2025 "
                "(1er janvier de l'année précédente).",
            ),
            (
                date(1, 1, 1),
                f"Date d'encaissement {short_date(date(1, 1, 1))} trop ancienne : un règlement se date au plus tôt "
                "du 01/01/2025 (1er janvier de l'année précédente).",
            ),
            (
                DAY + timedelta(days=1),
                "Date d'encaissement 24/11/2026 dans le futur : un règlement se date au plus tard d'aujourd'hui, "
                "le 23/11/2026.",
            ),
            (
                date(9999, 12, 31),
                "Date d'encaissement 31/12/9999 dans le futur : un règlement se date au plus tard d'aujourd'hui, "
                "le 23/11/2026.",
            ),
        ]:
            for mode in (PaymentMode.CASH, PaymentMode.CHEQUE, PaymentMode.CARD):
                refused_with(
                    message,
                    lambda day=day, mode=mode: desk(
                        session, family_id, mode=mode, received_on=day, reference="1234567", bank="CIC"
                    ),
                )
        assert written(session) == before
        # The day after the last closed one is open; the other régie's days are not closed.
        assert desk(session, family_id, received_on=date(2026, 11, 21)).received_on == date(2026, 11, 21)
        assert desk(session, family_id, "alsh", received_on=date(2026, 11, 2)).received_on == date(2026, 11, 2)
        assert desk(session, family_id, "alsh", received_on=date(2025, 1, 1)).received_on == date(2025, 1, 1)
        # A later closing closes every day before it, even one never closed.
        close_cash_day(session, regie_id=regie_id_of(session, "pop"), day=DAY, agent_id=regisseur)
        refused_with(
            "La journée de caisse du 23/11/2026 de la régie pop est clôturée : aucun règlement ne peut plus être "
            "daté du 22/11/2026 (toutes les journées jusqu'au 23/11/2026 sont clôturées).",
            lambda: desk(session, family_id, received_on=date(2026, 11, 22)),
        )


def test_an_online_payment_dated_by_payfip_is_still_taken_by_a_closed_day(town):
    """PayFiP dates its payments and the régie learns of them after the day: a closed day takes them."""
    with Session(town) as session:
        family_id, invoice = next((f, i) for f, i in unpaid_invoices(session) if i.number.startswith("pop-"))
        close_cash_day(
            session, regie_id=regie_id_of(session, "pop"), day=DAY, agent_id=agent_id(session, Role.REGISSEUR)
        )
        done = record_online_payment(
            session,
            family_id=family_id,
            invoice_number=invoice.number,
            amount_cents=invoice.balance_cents,
            paid_at=PAID_AT,
            reference="PAYFIP-CLOSED",
            agent_id=None,
        )
        assert done.received_on == DAY
        with pytest.raises(RegieError, match="01/01/2025"):
            record_online_payment(
                session,
                family_id=family_id,
                invoice_number=invoice.number,
                amount_cents=invoice.balance_cents,
                paid_at=datetime(2024, 6, 1, 10, 0, tzinfo=UTC),
                reference="PAYFIP-OLD",
                agent_id=None,
            )


def test_a_cancellation_is_refused_on_or_before_a_closed_day_and_in_the_future(town):
    with Session(town) as session:
        family_id, _ = family_with_open(session, "pop")
        pop = regie_id_of(session, "pop")
        older = desk(session, family_id, received_on=date(2026, 11, 19))
        newer = desk(session, family_id, received_on=date(2026, 11, 21))
        close_cash_day(session, regie_id=pop, day=date(2026, 11, 20), agent_id=agent_id(session, Role.REGISSEUR))
        session.commit()
        before = written(session)

        def cancel(receipt: str, on: date | None = None) -> None:
            cancel_payment(session, receipt_number=receipt, reason="Erreur", agent_id=None, cancelled_on=on)

        refused_with(
            f"La journée de caisse du 20/11/2026 de la régie pop est clôturée : le règlement {older.receipt_number} "
            "du 19/11/2026 ne peut plus être annulé (un chèque ou un prélèvement impayé se rejette).",
            lambda: cancel(older.receipt_number),
        )
        refused_with(
            "La journée de caisse du 20/11/2026 de la régie pop est clôturée : aucune annulation ne peut plus être "
            "datée de ce jour (le 21/11/2026 au plus tôt).",
            lambda: cancel(newer.receipt_number, date(2026, 11, 20)),
        )
        refused_with(
            "Date d'annulation 24/11/2026 dans le futur : une annulation se date au plus tard d'aujourd'hui, "
            "le 23/11/2026.",
            lambda: cancel(newer.receipt_number, DAY + timedelta(days=1)),
        )
        refused_with(
            "Date d'annulation 31/12/2024 trop ancienne : une annulation se date au plus tôt du 01/01/2025 "
            "(1er janvier de l'année précédente).",
            lambda: cancel(newer.receipt_number, date(2024, 12, 31)),
        )
        assert written(session) == before
        for receipt in (older.receipt_number, newer.receipt_number):
            assert (
                session.exec(select(col(Payment.cancelled_on)).where(Payment.receipt_number == receipt)).one() is None
            )
        cancel(newer.receipt_number)  # today
        session.commit()
        assert (
            session.exec(select(col(Payment.cancelled_on)).where(Payment.receipt_number == newer.receipt_number)).one()
            == DAY
        )


def test_a_rejection_is_refused_on_or_before_a_closed_day_in_the_future_and_last_year(town):
    with Session(town) as session:
        family_id, _ = family_with_open(session, "pop")
        pop = regie_id_of(session, "pop")
        cheque = desk(
            session, family_id, mode=PaymentMode.CHEQUE, received_on=date(2026, 11, 19), reference="7", bank="CIC"
        )
        old = Payment(
            receipt_number="pop-R240600001",
            family_id=family_id,
            regie_id=pop,
            mode=PaymentMode.CHEQUE,
            amount_cents=1000,
            received_on=date(2024, 6, 3),
            reference="8",
            bank="CIC",
        )
        session.add(old)
        close_cash_day(session, regie_id=pop, day=date(2026, 11, 20), agent_id=agent_id(session, Role.REGISSEUR))
        session.commit()
        before = written(session)

        def reject(receipt: str, on: date) -> None:
            reject_payment(session, receipt_number=receipt, rejected_on=on, reason="Impayé", agent_id=None)

        refused_with(
            "La journée de caisse du 20/11/2026 de la régie pop est clôturée : aucun rejet ne peut plus être daté "
            "du 19/11/2026 (le 21/11/2026 au plus tôt).",
            lambda: reject(cheque.receipt_number, date(2026, 11, 19)),
        )
        refused_with(
            "La journée de caisse du 20/11/2026 de la régie pop est clôturée : aucun rejet ne peut plus être daté "
            "de ce jour (le 21/11/2026 au plus tôt).",
            lambda: reject(cheque.receipt_number, date(2026, 11, 20)),
        )
        refused_with(
            "Date de rejet 24/11/2026 dans le futur : un rejet se date au plus tard d'aujourd'hui, le 23/11/2026.",
            lambda: reject(cheque.receipt_number, DAY + timedelta(days=1)),
        )
        refused_with(
            "Date de rejet 01/07/2024 trop ancienne : un rejet se date au plus tôt du 01/01/2025 "
            "(1er janvier de l'année précédente).",
            lambda: reject(old.receipt_number, date(2024, 7, 1)),
        )
        assert written(session) == before
        assert (
            session.exec(select(col(Payment.rejected_on)).where(Payment.receipt_number == cheque.receipt_number)).one()
            is None
        )
        # the cheque received on a closed day is returned on an open one: its day's totals stay
        total = cash_journal(session, day=date(2026, 11, 19), regie_id=pop).regies[0].total_cents
        reject(cheque.receipt_number, date(2026, 11, 21))
        session.commit()
        assert cash_journal(session, day=date(2026, 11, 19), regie_id=pop).regies[0].total_cents == total


# ------------------------------------------------------- cash: 300 € per invoice (issue 15)


def cash_on(session: Session, invoice_id: int) -> int:
    """The plain way: the cash allocations of live payments to the invoice."""
    return session.exec(
        select(func.coalesce(func.sum(Allocation.amount_cents), 0))
        .join(Payment, col(Payment.id) == Allocation.payment_id)
        .where(
            Allocation.invoice_id == invoice_id, Payment.mode == PaymentMode.CASH, col(Payment.cancelled_on).is_(None)
        )
    ).one()


def new_family_with_invoices(session: Session, *totals: int) -> tuple[int, list[tuple[int, str]]]:
    """A new family of the régie pop with invoices of ``totals`` (oldest first): (id, number) of each."""
    family_id = add_family(session, "ESPECES", guardians=[("Anne", "Espèces", "0612345678", "")])
    pop = regie_id_of(session, "pop")
    invoices = []
    for index, total in enumerate(totals, start=1):
        number = f"pop-F2610{90000 + index:05d}"
        invoice_id = add_invoice(session, family_id, pop, number, total)
        get_row(session, Invoice, invoice_id).issue_date = date(2026, 11, index)
        invoices.append((invoice_id, number))
    session.flush()
    return family_id, invoices


def test_cash_for_one_invoice_stays_within_300_euros_across_payments(town):
    with Session(town) as session:
        family_id, [(invoice_id, number)] = new_family_with_invoices(session, 80_000)
        session.commit()

        def cash(cents: int):
            return desk(session, family_id, mode=PaymentMode.CASH, amount_cents=cents, invoice_numbers=[number])

        cash(20_000)
        session.commit()
        before = written(session)
        refused_with(
            f"Espèces limitées à 300,00\xa0€ par facture : la facture {number} en a déjà reçu 200,00\xa0€, "
            "100,00\xa0€ au plus peuvent encore y être réglés en espèces (150,00\xa0€ demandés). "
            "Proposez un autre mode pour le reste.",
            lambda: cash(15_000),
        )
        assert written(session) == before and cash_on(session, invoice_id) == 20_000
        last = cash(10_000)
        refused_with(
            f"Espèces limitées à 300,00\xa0€ par facture : la facture {number} en a déjà reçu 300,00\xa0€, "
            "plus rien ne peut y être réglé en espèces (0,01\xa0€ demandés). Proposez un autre mode pour le reste.",
            lambda: cash(1),
        )
        # another mode is fine; a cancelled cash payment gives its room back
        desk(session, family_id, mode=PaymentMode.CARD, amount_cents=5_000, invoice_numbers=[number])
        cancel_payment(session, receipt_number=last.receipt_number, reason="Erreur", agent_id=None)
        cash(10_000)
        session.commit()
        assert cash_on(session, invoice_id) == 30_000
        assert balance_of(session, family_id, number) == 80_000 - 35_000


def test_cash_to_the_oldest_invoices_is_refused_beyond_300_euros_on_one(town):
    with Session(town) as session:
        family_id, [(oldest_id, oldest), (newest_id, _)] = new_family_with_invoices(session, 50_000, 10_000)
        desk(session, family_id, mode=PaymentMode.CASH, amount_cents=25_000)  # to the oldest
        session.commit()
        assert cash_on(session, oldest_id) == 25_000
        before = written(session)
        refused_with(
            f"Espèces limitées à 300,00\xa0€ par facture : la facture {oldest} en a déjà reçu 250,00\xa0€, "
            "50,00\xa0€ au plus peuvent encore y être réglés en espèces (100,00\xa0€ demandés). "
            "Proposez un autre mode pour le reste.",
            lambda: desk(session, family_id, mode=PaymentMode.CASH, amount_cents=10_000),
        )
        assert written(session) == before
        assert (cash_on(session, oldest_id), cash_on(session, newest_id)) == (25_000, 0)


def test_earlier_cash_credit_goes_on_an_invoice_only_within_its_300_euros(town):
    with Session(town) as session:
        family_id, [(big_id, big), (small_id, small)] = new_family_with_invoices(session, 100_000, 10_000)
        desk(session, family_id, mode=PaymentMode.CASH, amount_cents=30_000, invoice_numbers=[big])
        overpaid = desk(session, family_id, mode=PaymentMode.CASH, amount_cents=25_000, invoice_numbers=[small])
        assert overpaid.credit_left_cents == 15_000  # cash credit
        # A card payment to the oldest: the cash credit cannot go on the big invoice (300 € of cash already).
        card = desk(session, family_id, mode=PaymentMode.CARD, amount_cents=1_000)
        session.commit()
        assert [(a.invoice_number, a.amount_cents, a.from_credit) for a in card.allocations] == [(big, 1_000, False)]
        assert card.credit_left_cents == 15_000
        assert (cash_on(session, big_id), cash_on(session, small_id)) == (30_000, 10_000)
        assert family_credit(session, family_id=family_id, regie_id=regie_id_of(session, "pop")) == 15_000
