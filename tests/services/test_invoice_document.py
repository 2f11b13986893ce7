"""The invoice as a document: every figure it prints comes from the database, read in a few queries."""

from datetime import date

import pytest
from sqlalchemy import event, func
from sqlmodel import Session, col, select

from regie_tui import formatting
from regie_tui.db import make_engine
from regie_tui.errors import NotFound, RegieError
from regie_tui.models import (
    Allocation,
    CreditNote,
    DebitBatch,
    DirectDebit,
    Invoice,
    InvoiceLine,
    Mandate,
    MandateSequence,
    Payment,
    PaymentMode,
    Regie,
    Town,
)
from regie_tui.services.billing.document import invoice_document, month_documents
from regie_tui.services.billing.document_json import as_json
from regie_tui.services.common.sql import id_of
from regie_tui.services.payments.sepa.mandates import mask_iban

UNPAID = "pop-F261000012"  # family 12, October, 13 lines over several children, nothing paid
PAID = "pop-F260900001"  # family 1, September, paid in full
IBAN = "FR7630004000031234567890143"


@pytest.fixture
def db(town_url):
    engine = make_engine(town_url)
    with Session(engine) as session:
        yield session
    engine.dispose()


def stored(db: Session, number: str) -> tuple[Invoice, list[InvoiceLine], int, int]:
    invoice = db.exec(select(Invoice).where(Invoice.number == number)).one()
    lines = list(
        db.exec(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id).order_by(col(InvoiceLine.position)))
    )
    paid = db.exec(
        select(func.coalesce(func.sum(Allocation.amount_cents), 0)).where(Allocation.invoice_id == invoice.id)
    ).one()
    credited = db.exec(
        select(func.coalesce(func.sum(CreditNote.amount_cents), 0)).where(CreditNote.invoice_id == invoice.id)
    ).one()
    return invoice, lines, int(paid), int(credited)


def test_unpaid_invoice_matches_the_database(db):
    doc = invoice_document(db, number=f"  {UNPAID} ")
    invoice, lines, paid, credited = stored(db, UNPAID)
    assert (paid, credited) == (0, 0)
    assert doc.number == UNPAID and doc.total_cents == invoice.total_cents
    assert (doc.debtor_name, doc.debtor_address) == (invoice.debtor_name, invoice.debtor_address)
    assert (doc.issue_date, doc.period_start, doc.period_end, doc.due_date) == (
        invoice.issue_date,
        invoice.period_start,
        invoice.period_end,
        invoice.due_date,
    )
    # every stored line, once, in its child's group, with its figures as stored
    assert sorted(line.position for line in doc.lines) == [line.position for line in lines]
    by_position = {line.position: line for line in lines}
    for child in doc.children:
        for line in child.lines:
            row = by_position[line.position]
            assert row.child_id == child.child_id
            assert (line.quantity, line.unit_price_cents, line.amount_cents) == (
                row.quantity,
                row.unit_price_cents,
                row.amount_cents,
            )
            assert (line.dates, line.basis) == (row.dates, row.basis)
        assert child.subtotal_cents == sum(by_position[line.position].amount_cents for line in child.lines)
    assert len(doc.children) >= 2
    assert sum(child.subtotal_cents for child in doc.children) == invoice.total_cents
    assert (doc.paid_cents, doc.balance_cents, doc.status_text) == (0, invoice.total_cents, "À régler")
    # PayFiP: the régie's client number, the invoice number as reference, the year
    regie = db.get(Regie, invoice.regie_id)
    assert doc.payfip is not None
    assert (doc.payfip.numcli, doc.payfip.refdet, doc.payfip.exer, doc.payfip.amount_cents) == (
        regie.payfip_client_number,
        UNPAID,
        2026,
        invoice.total_cents,
    )
    assert doc.debit is None
    assert doc.issuer.regie_name == regie.name and doc.issuer.creditor_id == regie.sepa_creditor_id
    town = db.exec(select(Town)).one()
    assert doc.appeal_notice == town.appeal_notice and doc.issuer.town == town.name
    assert any("PayFiP" in text and UNPAID in text for text in doc.how_to_pay)


def test_paid_invoice_lists_its_receipts(db):
    doc = invoice_document(db, number=PAID)
    invoice, _, paid, _ = stored(db, PAID)
    assert paid == invoice.total_cents
    receipts = db.exec(
        select(Payment.receipt_number, Allocation.amount_cents)
        .join(Allocation, col(Allocation.payment_id) == Payment.id)
        .where(Allocation.invoice_id == invoice.id)
    ).all()
    assert sorted((p.receipt_number, p.amount_cents) for p in doc.payments) == sorted(receipts)
    assert (doc.paid_cents, doc.balance_cents, doc.status_text) == (paid, 0, "Soldée")
    assert doc.payfip is None
    assert doc.how_to_pay == ("Facture soldée : rien à régler.",)


def test_unknown_number_is_a_french_error(db):
    with pytest.raises(NotFound, match="Aucune facture n° « pop-F999 »"):
        invoice_document(db, number="pop-F999")


def test_month_is_read_in_a_handful_of_queries(town_url):
    engine = make_engine(town_url)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    try:
        with Session(engine) as db:
            docs = month_documents(db, regie_code="pop", month=date(2026, 10, 15))
            expected = db.exec(
                select(Invoice.number, Invoice.total_cents)
                .join(Regie, col(Regie.id) == Invoice.regie_id)
                .where(Regie.code == "pop", Invoice.period_start == date(2026, 10, 1))
                .order_by(Invoice.number)
            ).all()
    finally:
        engine.dispose()
    assert [(d.number, d.total_cents) for d in docs] == [tuple(row) for row in expected]
    assert len(docs) == 12
    assert all(sum(line.amount_cents for line in d.lines) == d.total_cents for d in docs)
    assert len(statements) <= 12  # whatever the number of invoices (the month + the comparison above)


def test_month_of_an_unknown_service(db):
    with pytest.raises(RegieError, match="Régie « cantine » inconnue"):
        month_documents(db, regie_code="cantine", month=date(2026, 10, 1))
    assert month_documents(db, regie_code="pop", month=date(2025, 1, 1)) == []


def test_credit_note_part_payment_and_direct_debit(fresh_town_url):
    """A credit note and a cheque reduce the balance; the mandate makes it a pre-notified debit."""
    engine = make_engine(fresh_town_url)
    try:
        with Session(engine) as db:
            invoice = db.exec(select(Invoice).where(Invoice.number == UNPAID)).one()
            db.add(
                CreditNote(
                    number="pop-A261100001",
                    invoice_id=id_of(invoice),
                    issue_date=date(2026, 11, 12),
                    amount_cents=1000,
                    reason="Absences justifiées",
                )
            )
            payment = Payment(
                receipt_number="pop-R-TEST-1",
                family_id=invoice.family_id,
                regie_id=invoice.regie_id,
                mode=PaymentMode.CHEQUE,
                amount_cents=5000,
                received_on=date(2026, 11, 10),
            )
            db.add(payment)
            db.flush()
            db.add(Allocation(payment_id=id_of(payment), invoice_id=id_of(invoice), amount_cents=5000))
            mandate = Mandate(
                family_id=invoice.family_id,
                regie_id=invoice.regie_id,
                rum="POP-TEST-12",
                debtor_name=invoice.debtor_name,
                debtor_address="1 rue du Test, 44370 Rivebelle",
                iban=IBAN,
                signed_on=date(2026, 1, 10),
                next_sequence=MandateSequence.FIRST,
            )
            db.add(mandate)
            db.commit()

            doc = invoice_document(db, number=UNPAID)
            balance = invoice.total_cents - 1000 - 5000
            assert (doc.credited_cents, doc.paid_cents, doc.balance_cents) == (1000, 5000, balance)
            assert [c.number for c in doc.credit_notes] == ["pop-A261100001"]
            assert [(p.receipt_number, p.mode_text) for p in doc.payments] == [("pop-R-TEST-1", "chèque")]
            assert doc.payfip is None  # the family pays by direct debit
            assert doc.debit is not None
            assert (doc.debit.debit_date, doc.debit.amount_cents, doc.debit.rum) == (
                invoice.due_date,
                balance,
                "POP-TEST-12",
            )
            assert doc.debit.iban_masked == "FR76 **** **** **** **** ***0 143"
            assert any("pré-notification" in text for text in doc.how_to_pay)
            assert doc.status_text == "À régler"

            batch = DebitBatch(
                regie_id=invoice.regie_id,
                message_id="TEST-BATCH-1",
                collection_date=date(2026, 12, 7),
                transaction_count=1,
                total_cents=balance,
            )
            db.add(batch)
            db.flush()
            db.add(
                DirectDebit(
                    batch_id=id_of(batch),
                    invoice_id=id_of(invoice),
                    mandate_id=id_of(mandate),
                    amount_cents=balance,
                    sequence=MandateSequence.FIRST,
                    end_to_end_id="TEST-E2E-1",
                )
            )
            db.commit()
            doc = invoice_document(db, number=UNPAID)
            assert doc.in_direct_debit and doc.status_text == "En prélèvement le 07/12/2026"
            assert doc.debit is not None
            assert (doc.debit.debit_date, doc.debit.in_progress) == (date(2026, 12, 7), True)  # the batch's date
            assert any("le 07/12/2026" in text for text in doc.how_to_pay)
            [month_doc] = [
                d for d in month_documents(db, regie_code="pop", month=date(2026, 10, 1)) if d.number == UNPAID
            ]
            assert month_doc == doc  # the month's path reads the same document
    finally:
        engine.dispose()


def test_json_gives_cents_and_french_text(db):
    doc = invoice_document(db, number=UNPAID)
    data = as_json(doc)
    assert data["number"] == UNPAID
    assert data["total"]["cents"] == doc.total_cents
    assert data["total"]["text"].endswith("€") and "," in data["total"]["text"]
    assert data["balance_due"]["cents"] == doc.balance_cents
    assert data["paid"]["cents"] == 0
    first = data["children"][0]["lines"][0]
    assert first["amount"]["cents"] == doc.children[0].lines[0].amount_cents
    assert first["unit_price"]["text"] == formatting.money(doc.children[0].lines[0].unit_price_cents)
    assert data["issue_date"] == {"iso": doc.issue_date.isoformat(), "text": doc.issue_date.strftime("%d/%m/%Y")}
    assert doc.payfip is not None
    assert data["payfip"] == {
        "numcli": doc.payfip.numcli,
        "refdet": UNPAID,
        "exer": 2026,
        "montant": {"cents": doc.balance_cents, "text": data["balance_due"]["text"]},
    }
    assert data["appeal_notice"].startswith("Voies et délais de recours")


def test_mask_iban():
    assert mask_iban(IBAN) == "FR76 **** **** **** **** ***0 143"
    assert mask_iban("DE89 3704 0044 0532 0130 00") == "DE89 **** **** **** **30 00"
