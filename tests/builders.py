"""Small hand-made records for service tests (the seeded town covers the realistic case)."""

from datetime import UTC, date, datetime

from sqlmodel import Session

from regie_tui.models import (
    Allocation,
    Child,
    CreditNote,
    Family,
    Guardian,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentMode,
    Regie,
    Sex,
)
from regie_tui.services.family_search import refresh_search_words

AT = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def add_family(
    session: Session,
    name: str,
    *,
    guardians: list[tuple[str, str, str, str]] = (),
    children: list[tuple[str, date]] = (),
    city: str = "Vittel",
) -> int:
    """A family; guardians as (first name, last name, mobile, e-mail), the first pays."""
    family = Family(name=name, name_key="", address="1 rue de la Gare", postal_code="88800", city=city)
    session.add(family)
    session.flush()
    for position, (first, last, mobile, email) in enumerate(guardians):
        session.add(
            Guardian(
                family_id=family.id,
                first_name=first,
                last_name=last,
                relationship="mère",
                is_payer=position == 0,
                mobile_phone=mobile,
                email=email,
            )
        )
    for first, birth in children:
        session.add(
            Child(family_id=family.id, first_name=first, last_name=name.title(), birth_date=birth, sex=Sex.FEMALE)
        )
    session.flush()
    refresh_search_words(session, [family.id])
    session.flush()
    return family.id


def add_regie(session: Session, code: str = "pop") -> int:
    regie = Regie(code=code, name=f"Régie {code}", invoice_prefix=code)
    session.add(regie)
    session.flush()
    return regie.id


def add_invoice(session: Session, family_id: int, regie_id: int, number: str, total_cents: int) -> int:
    invoice = Invoice(
        number=number,
        regie_id=regie_id,
        family_id=family_id,
        period_start=date(2026, 10, 1),
        period_end=date(2026, 10, 31),
        issue_date=date(2026, 11, 2),
        due_date=date(2026, 12, 2),
        total_cents=total_cents,
        status=InvoiceStatus.ISSUED,
        debtor_name="X",
        debtor_address="Y",
    )
    session.add(invoice)
    session.flush()
    refresh_search_words(session, [family_id])
    return invoice.id


def pay(session: Session, family_id: int, regie_id: int, invoice_id: int, cents: int, receipt: str) -> None:
    payment = Payment(
        receipt_number=receipt,
        family_id=family_id,
        regie_id=regie_id,
        mode=PaymentMode.CHEQUE,
        amount_cents=cents,
        received_on=date(2026, 11, 10),
    )
    session.add(payment)
    session.flush()
    session.add(Allocation(payment_id=payment.id, invoice_id=invoice_id, amount_cents=cents))


def credit(session: Session, invoice_id: int, cents: int, number: str) -> None:
    session.add(
        CreditNote(
            number=number,
            invoice_id=invoice_id,
            issue_date=date(2026, 11, 12),
            amount_cents=cents,
            reason="Erreur de pointage",
        )
    )
