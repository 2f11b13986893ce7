"""The invoice PDF: read its text back and find every amount the database holds."""

import io
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from babel.numbers import format_currency
from pypdf import PdfReader
from pypdf.generic import DictionaryObject
from sqlalchemy import func
from sqlmodel import Session, col, select

from regie_tui.db import make_engine
from regie_tui.errors import RegieError
from regie_tui.models import (
    Allocation,
    CreditNote,
    Invoice,
    InvoiceLine,
    Mandate,
    MandateSequence,
    Payment,
    PaymentMode,
)
from regie_tui.reports.invoice_pdf import (
    BOLD,
    FONT,
    missing_glyphs,
    pdf_money,
    write_invoice_files,
    write_invoice_pdf,
    write_month_pdf,
)
from regie_tui.services.billing.document import DocLine, invoice_document, month_documents
from regie_tui.services.common.sql import id_of

UNPAID = "pop-F261000012"


def pdf_text(data: bytes) -> tuple[str, int]:
    """The PDF's text with every kind of space made plain, and its page count."""
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return text.replace("\u202f", " ").replace("\u00a0", " "), len(reader.pages)


def euros(cents: int) -> str:
    """As printed, spaces made plain: '1 234,56 €'."""
    return pdf_money(cents).replace("\u202f", " ").replace("\u00a0", " ")


def pdf_of(doc) -> bytes:
    buffer = io.BytesIO()
    write_invoice_pdf(doc, buffer)
    return buffer.getvalue()


def test_font_has_the_french_glyphs():
    """€, accents, œ and the narrow no-break space Babel puts between thousands."""
    assert missing_glyphs(FONT) == "" and missing_glyphs(BOLD) == ""
    assert missing_glyphs(FONT, "\u2603") == "\u2603"  # the check does find a missing one


@pytest.mark.parametrize("cents", [0, 5, 1000, 123456, -2500, 100_000_000])
def test_amounts_are_printed_as_babel_writes_them(cents):
    assert pdf_money(cents) == format_currency(Decimal(cents) / 100, "EUR", locale="fr_FR")


def test_every_amount_of_the_invoice_is_on_the_pdf(town_url):
    engine = make_engine(town_url)
    try:
        with Session(engine) as db:
            doc = invoice_document(db, number=UNPAID)
            invoice = db.exec(select(Invoice).where(Invoice.number == UNPAID)).one()
            lines = db.exec(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)).all()
            paid = db.exec(
                select(func.coalesce(func.sum(Allocation.amount_cents), 0)).where(Allocation.invoice_id == invoice.id)
            ).one()
    finally:
        engine.dispose()
    data = pdf_of(doc)
    text, pages = pdf_text(data)
    assert f"N° {UNPAID}" in text and "FACTURE" in text
    # one font embedded (its bold is drawn): what keeps a month of invoices fast
    resources = PdfReader(io.BytesIO(data)).pages[0]["/Resources"]
    assert isinstance(resources, DictionaryObject)
    font_dictionary = resources["/Font"]
    assert isinstance(font_dictionary, DictionaryObject)
    fonts = font_dictionary.values()
    assert [f.get_object()["/BaseFont"].split("+")[-1] for f in fonts if "+" in f.get_object()["/BaseFont"]] == [
        "SourceSansPro-Regular"
    ]
    assert invoice.debtor_name in text
    assert all(part in text for part in invoice.debtor_address.split("\n"))
    assert "Période : du 01/10/2026 au 31/10/2026" in text
    assert f"Échéance : {invoice.due_date:%d/%m/%Y}" in text
    assert f"Date d'émission : {invoice.issue_date:%d/%m/%Y}" in text
    for line in lines:
        assert line.label in text
        assert f"Jours : {line.dates}" in text
        assert euros(line.unit_price_cents) in text and euros(line.amount_cents) in text
        if line.basis:
            assert f"Base : {line.basis}" in text
    for child in doc.children:
        assert f"Sous-total {child.name}" in text
    assert f"Total de la facture\n{euros(invoice.total_cents)}" in text
    assert f"Déjà réglé\n{euros(-paid)}" in text
    assert f"Reste à payer\n{euros(invoice.total_cents - paid)}" in text
    assert f"référence {UNPAID}" in text and "n° client 012345" in text
    assert "Voies et délais de recours" in text and "tribunal administratif" in text
    assert f"page {pages}/{pages}" in text


def test_credit_note_payment_and_pre_notification(fresh_town_url):
    engine = make_engine(fresh_town_url)
    try:
        with Session(engine) as db:
            invoice = db.exec(select(Invoice).where(Invoice.number == UNPAID)).one()
            db.add(
                CreditNote(
                    number="pop-A261100001",
                    invoice_id=id_of(invoice),
                    issue_date=date(2026, 11, 12),
                    amount_cents=1234,
                    reason="Erreur de pointage",
                )
            )
            payment = Payment(
                receipt_number="pop-R-TEST-1",
                family_id=invoice.family_id,
                regie_id=invoice.regie_id,
                mode=PaymentMode.CASH,
                amount_cents=2000,
                received_on=date(2026, 11, 10),
            )
            db.add(payment)
            db.flush()
            db.add(Allocation(payment_id=id_of(payment), invoice_id=id_of(invoice), amount_cents=2000))
            db.add(
                Mandate(
                    family_id=invoice.family_id,
                    regie_id=invoice.regie_id,
                    rum="POP-TEST-12",
                    debtor_name=invoice.debtor_name,
                    debtor_address="1 rue du Test",
                    iban="FR7630004000031234567890143",
                    signed_on=date(2026, 1, 10),
                    next_sequence=MandateSequence.FIRST,
                )
            )
            db.commit()
            doc = invoice_document(db, number=UNPAID)
            total, due = invoice.total_cents, invoice.due_date
    finally:
        engine.dispose()
    balance = total - 1234 - 2000
    text, _ = pdf_text(pdf_of(doc))
    assert f"Avoir n° pop-A261100001 du 12/11/2026\n{euros(-1234)}" in text
    assert f"reçu n° pop-R-TEST-1 du 10/11/2026 (espèces)\n{euros(2000)}" in text
    assert f"Déjà réglé\n{euros(-2000)}" in text
    assert f"Reste à payer\n{euros(balance)}" in text
    assert f"Prélèvement SEPA de {euros(balance)} le {due:%d/%m/%Y}" in text
    assert "FR76 **** **** **** **** ***0 143" in text and "POP-TEST-12" in text
    assert "pré-notification" in text
    assert "PayFiP" not in text


def test_a_long_invoice_flows_over_pages(town_url):
    engine = make_engine(town_url)
    with Session(engine) as db:
        doc = invoice_document(db, number=UNPAID)
    engine.dispose()
    child = doc.children[0]
    many = tuple(
        DocLine(n, f"Ligne {n}", "1, 2, 3", Decimal(3), 150 + n, 3 * (150 + n), "service", "") for n in range(1, 91)
    )
    long_doc = replace(doc, children=(replace(child, lines=many),), total_cents=sum(line.amount_cents for line in many))
    text, pages = pdf_text(pdf_of(long_doc))
    assert pages >= 3
    assert f"page {pages}/{pages}" in text and f"Facture n° {UNPAID} (suite)" in text
    assert all(f"Ligne {n}\n" in text and euros(3 * (150 + n)) in text for n in range(1, 91))
    assert f"Reste à payer\n{euros(long_doc.total_cents)}" in text


def test_month_in_one_file_and_one_file_per_invoice(town_url, tmp_path):
    engine = make_engine(town_url)
    with Session(engine) as db:
        docs = month_documents(db, regie_code="pop", month=date(2026, 10, 1))
        totals = dict(
            db.exec(
                select(Invoice.number, Invoice.total_cents).where(col(Invoice.number).in_([d.number for d in docs]))
            ).all()
        )
    engine.dispose()
    buffer = io.BytesIO()
    assert write_month_pdf(docs, buffer) == len(docs)
    text, pages = pdf_text(buffer.getvalue())
    assert pages >= len(docs)
    for doc in docs:
        assert f"N° {doc.number}" in text and f"Total de la facture\n{euros(totals[doc.number])}" in text

    # 150 invoices (the month's, renumbered): shared between two processes
    many = [replace(docs[i % len(docs)], number=f"pop-F2610{i:05d}") for i in range(150)]
    paths = write_invoice_files(many, tmp_path, processes=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"facture-{d.number}.pdf" for d in many)
    for path, doc in zip(paths[::37], many[::37], strict=True):
        text, _ = pdf_text(path.read_bytes())
        assert f"N° {doc.number}" in text and euros(doc.total_cents) in text
    with pytest.raises(RegieError, match="existe déjà"):
        write_invoice_files(many[:3], tmp_path)
