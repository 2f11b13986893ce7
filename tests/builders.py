"""Small hand-made records for service tests (the seeded town covers the realistic case).

A test that needs a case the seeded town may not have (an activity whose groups do not fit a
child, a booking today, an open invoice) builds it here rather than searching the town for one.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlmodel import Session, col, select

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
    PortalAccount,
    Regie,
    Sex,
    Source,
    Submission,
    Unit,
)
from regie_tui.services.common.sql import id_col, id_of
from regie_tui.services.families.search import refresh_search_words

AT = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def add_family(
    session: Session,
    name: str,
    *,
    guardians: Sequence[tuple[str, str, str, str]] = (),
    children: Sequence[tuple[str, date]] = (),
    city: str = "Vittel",
) -> int:
    """A family; guardians as (first name, last name, mobile, e-mail), the first pays."""
    family = Family(name=name, name_key="", address="1 rue de la Gare", postal_code="88800", city=city)
    session.add(family)
    session.flush()
    for position, (first, last, mobile, email) in enumerate(guardians):
        session.add(
            Guardian(
                family_id=id_of(family),
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
            Child(family_id=id_of(family), first_name=first, last_name=name.title(), birth_date=birth, sex=Sex.FEMALE)
        )
    session.flush()
    refresh_search_words(session, [id_of(family)])
    session.flush()
    return id_of(family)


def add_regie(session: Session, code: str = "pop") -> int:
    regie = Regie(code=code, name=f"Régie {code}", invoice_prefix=code)
    session.add(regie)
    session.flush()
    return id_of(regie)


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
    return id_of(invoice)


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
    session.add(Allocation(payment_id=id_of(payment), invoice_id=invoice_id, amount_cents=cents))


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


@dataclass
class BuiltActivity:
    activity: Activity
    groups: list[AgeGroup]
    units: list[Unit]


def add_activity(
    db: Session,
    name: str,
    *,
    groups: Sequence[tuple[str, int, int]],
    units: Sequence[tuple[str, time, time]] = (),
    weekdays: str | None = None,
    start: date = date(2026, 9, 2),
    end: date = date(2027, 7, 7),
) -> BuiltActivity:
    """A holiday-kind activity of the town's first régie and facility (notice: the day before,
    15:00), its age groups as (name, min age, max age) in that order, its units as (name,
    start, end); open on ``weekdays`` (ISO digits, "12345") over its whole span when given,
    on public holidays never. Flushed, not committed."""
    regie_id = db.exec(select(id_col(Regie.id)).order_by(col(Regie.id))).first()
    facility_id = db.exec(select(id_col(Facility.id)).order_by(col(Facility.id))).first()
    assert regie_id is not None and facility_id is not None, "the town has a régie and a facility"
    activity = Activity(
        regie_id=regie_id,
        facility_id=facility_id,
        name=name,
        kind=ActivityKind.HOLIDAYS,
        start_date=start,
        end_date=end,
    )
    db.add(activity)
    db.flush()
    if weekdays:
        db.add(
            ActivityPeriod(activity_id=id_of(activity), name="Année", start_date=start, end_date=end, weekdays=weekdays)
        )
    built = BuiltActivity(
        activity,
        [
            AgeGroup(activity_id=id_of(activity), name=group, min_age=low, max_age=high, position=position)
            for position, (group, low, high) in enumerate(groups, start=1)
        ],
        [
            Unit(activity_id=id_of(activity), name=unit, start_time=begins, end_time=ends)
            for unit, begins, ends in units
        ],
    )
    db.add_all([*built.units, *built.groups])
    db.flush()
    return built


def enroll(db: Session, *, child_id: int, activity_id: int, age_group_id: int) -> int:
    """The child's accepted enrollment in the activity (flushed); its id."""
    enrollment = Enrollment(
        child_id=child_id,
        activity_id=activity_id,
        age_group_id=age_group_id,
        status=EnrollmentStatus.ACCEPTED,
        source=Source.AGENT,
    )
    db.add(enrollment)
    db.flush()
    assert enrollment.id is not None
    return enrollment.id


def add_weekday_activity(db: Session, *, child_id: int, name: str = "Stage des Lucioles") -> tuple[BuiltActivity, int]:
    """An activity open Monday to Friday all year, one unit 'Veillée' (20:00–21:00, when no
    activity of the seeded town runs) and one group for every age, with the child enrolled
    (accepted): the activity, and the enrollment's id."""
    built = add_activity(db, name, groups=[("Tous", 0, 17)], units=[("Veillée", time(20), time(21))], weekdays="12345")
    assert built.activity.id is not None and built.groups[0].id is not None
    return built, enroll(db, child_id=child_id, activity_id=built.activity.id, age_group_id=built.groups[0].id)


def add_booking(
    db: Session, *, child_id: int, day: date, unit_id: int, enrollment_id: int, state: BookingState
) -> Booking:
    """A booking made at the desk (flushed)."""
    booking = Booking(
        child_id=child_id,
        day=day,
        unit_id=unit_id,
        enrollment_id=enrollment_id,
        state=state,
        source=Source.AGENT,
        changed_at=datetime(2026, 11, 20, tzinfo=UTC),
    )
    db.add(booking)
    db.flush()
    return booking


#: When the portal's requests built here were sent, unless a line says otherwise.
PORTAL_SENT = "2026-11-22T18:30:00+01:00"


def portal_requests(
    db: Session, family_id: int, lines: Sequence[dict[str, Any]], *, now: datetime, account: str | None = None
) -> list[int]:
    """Import ``lines`` as the family's portal ``account`` (default: its first) sent them (ids
    ``t-<n>-<kind>``, sent at PORTAL_SENT unless a line has its own ``submitted_at``); their
    submissions' ids, in order. Committed: the import is a unit of work of its own."""
    from regie_tui.services.portal.intake.run import import_submissions

    if account is None:
        account = db.exec(
            select(PortalAccount.email).where(PortalAccount.family_id == family_id).order_by(col(PortalAccount.id))
        ).first()
        assert account is not None, f"family {family_id} has no portal account"
    full = [
        {"id": f"t-{n}-{line['kind']}", "family": family_id, "account": account, "submitted_at": PORTAL_SENT, **line}
        for n, line in enumerate(lines)
    ]
    data = "\n".join(json.dumps(line, ensure_ascii=False) for line in full).encode()
    summary = import_submissions(db, data=data, filename="test.jsonl", agent=None, now=now)
    db.commit()
    assert summary.rejected == [], summary.rejected
    return [db.exec(select(id_col(Submission.id)).where(Submission.portal_id == line["id"])).one() for line in full]


def add_lucioles(db: Session, *, second_state: BookingState = BookingState.RESERVED) -> int:
    """A small activity added to a town: 'Mercredis Lucioles', unit Matin; Maternelle 2 places,
    full on 9 December (the first child reserved, the second in ``second_state``, the third
    waiting), Élémentaire without a limit. Returns the activity's id (flushed, not committed)."""
    built = add_activity(
        db,
        "Mercredis Lucioles",
        groups=[("Maternelle", 3, 5), ("Élémentaire", 6, 11)],
        units=[("Matin", time(8), time(12))],
        weekdays="3",
    )
    activity, (mater, _elem), (unit,) = built.activity, built.groups, built.units
    db.add(Capacity(age_group_id=id_of(mater), unit_id=id_of(unit), places=2))
    add_family(
        db, "LUCIOLES", children=[("Léa", date(2021, 5, 1)), ("Tom", date(2021, 6, 1)), ("Zoé", date(2021, 7, 1))]
    )
    children = db.exec(select(id_col(Child.id)).where(Child.last_name == "Lucioles").order_by(col(Child.id))).all()
    states = (BookingState.RESERVED, second_state, BookingState.WAITING_LIST)
    for child, state in zip(children, states, strict=True):
        enrollment_id = enroll(db, child_id=child, activity_id=id_of(activity), age_group_id=id_of(mater))
        add_booking(
            db, child_id=child, day=LUCIOLES_FULL_WED, unit_id=id_of(unit), enrollment_id=enrollment_id, state=state
        )
    assert activity.id is not None
    return activity.id
