"""Online payments (PayFiP) and the receipt numbers they take."""

import threading
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from regie_tui.db import make_engine
from regie_tui.errors import RegieError
from regie_tui.models import AuditEntry, Family, Invoice, InvoiceStatus, NumberSequence, Payment, PaymentMode, Source
from regie_tui.services.accounts import family_balances, family_invoices
from regie_tui.services.numbering import NumberKind, take_number
from regie_tui.services.payments import record_online_payment

from builders import pay

PAID_AT = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)  # 00:30 on the 23rd in Paris


@pytest.fixture
def town(fresh_town_url):
    engine = make_engine(fresh_town_url)
    yield engine
    engine.dispose()


def unpaid_invoices(session: Session, *, partly_paid: bool = False) -> list:
    """(family id, invoice row) of the town's issued invoices with a balance, by number."""
    found = []
    for family_id in session.exec(select(Family.id).order_by(Family.id)).all():
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
        pay(session, family_id, record.regie_id, record.id, 1000, "TEST-R1")  # a cheque of 10 € at the desk
        session.commit()
        invoice = next(i for _, i in unpaid_invoices(session, partly_paid=True) if i.number == unpaid.number)
        assert invoice.balance_cents == invoice.total_cents - 1000
        with pytest.raises(RegieError, match="paiement partiel n'est pas admis"):
            record_online_payment(
                session,
                family_id=family_id,
                invoice_number=invoice.number,
                amount_cents=invoice.total_cents,
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
        other_family = session.exec(select(Family.id).where(Family.id != family_id)).first()
        payments_before = session.exec(select(func.count()).select_from(Payment)).one()

        def pay(**changes):
            arguments = {
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
