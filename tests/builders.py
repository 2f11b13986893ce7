"""Small hand-made records for service tests (the seeded town covers the realistic case)."""

from datetime import UTC, date, datetime, time

from sqlmodel import Session, select

from regie_tui.models import (
    Activity,
    ActivityKind,
    ActivityPeriod,
    AgeGroup,
    Allocation,
    Booking,
    BookingState,
    Capacity,
    Child,
    CreditNote,
    Enrollment,
    EnrollmentStatus,
    Facility,
    Family,
    Guardian,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentMode,
    Regie,
    Sex,
    Source,
    Unit,
)
from regie_tui.services.families.search import refresh_search_words

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


#: The Wednesday 'Mercredis Lucioles' is full for Maternelle (see add_lucioles).
LUCIOLES_FULL_WED = date(2026, 12, 9)


def add_lucioles(db: Session, *, second_state: BookingState = BookingState.RESERVED) -> int:
    """A small activity added to a town: 'Mercredis Lucioles', unit Matin; Maternelle 2 places,
    full on 9 December (the first child reserved, the second in ``second_state``, the third
    waiting), Élémentaire without a limit. Returns the activity's id (flushed, not committed)."""
    activity = Activity(
        regie_id=db.exec(select(Regie.id)).first(),
        facility_id=db.exec(select(Facility.id)).first(),
        name="Mercredis Lucioles",
        kind=ActivityKind.HOLIDAYS,
        start_date=date(2026, 9, 2),
        end_date=date(2027, 7, 7),
    )
    db.add(activity)
    db.flush()
    db.add(
        ActivityPeriod(
            activity_id=activity.id, name="Année", start_date=date(2026, 9, 2), end_date=date(2027, 7, 7), weekdays="3"
        )
    )
    unit = Unit(activity_id=activity.id, name="Matin", start_time=time(8), end_time=time(12))
    mater = AgeGroup(activity_id=activity.id, name="Maternelle", min_age=3, max_age=5, position=1)
    elem = AgeGroup(activity_id=activity.id, name="Élémentaire", min_age=6, max_age=11, position=2)
    db.add_all([unit, mater, elem])
    db.flush()
    db.add(Capacity(age_group_id=mater.id, unit_id=unit.id, places=2))
    add_family(
        db, "LUCIOLES", children=[("Léa", date(2021, 5, 1)), ("Tom", date(2021, 6, 1)), ("Zoé", date(2021, 7, 1))]
    )
    children = db.exec(select(Child.id).where(Child.last_name == "Lucioles").order_by(Child.id)).all()
    states = (BookingState.RESERVED, second_state, BookingState.WAITING_LIST)
    for child, state in zip(children, states, strict=True):
        enrollment = Enrollment(
            child_id=child,
            activity_id=activity.id,
            age_group_id=mater.id,
            status=EnrollmentStatus.ACCEPTED,
            source=Source.AGENT,
        )
        db.add(enrollment)
        db.flush()
        db.add(
            Booking(
                child_id=child,
                day=LUCIOLES_FULL_WED,
                unit_id=unit.id,
                enrollment_id=enrollment.id,
                state=state,
                source=Source.AGENT,
                changed_at=datetime(2026, 11, 20, tzinfo=UTC),
            )
        )
    db.flush()
    assert activity.id is not None
    return activity.id
