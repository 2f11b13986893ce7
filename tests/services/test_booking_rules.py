"""The booking rules: every rule and its French message, the waiting list and its promotion."""

from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import Session, col, select

from regie_tui.clock import PARIS
from regie_tui.errors import NotFound
from regie_tui.models import (
    Activity,
    Agent,
    AuditEntry,
    Booking,
    BookingState,
    Charge,
    ChargeKind,
    Child,
    Enrollment,
    Role,
    Source,
)
from regie_tui.services.bookings.cells import FREE_STAMP, CellRequest, CellStamp, StaleCells, notice_deadline
from regie_tui.services.bookings.judge import WAITING
from regie_tui.services.bookings.rules import apply_cells, check_cells
from regie_tui.services.common.sql import id_of
from regie_tui.services.trust.agents import AgentInfo

from booking_world import NOW, OVERRIDE_WED, WED, World, build
from helpers import get_row

#: A régisseur at the keyboard: the role matrix lets it unlock a locked cell, with a reason.
REGISSEUR = AgentInfo(id=1, login="jbernard", display_name="Julien Bernard", role=Role.REGISSEUR)


@pytest.fixture
def world(engine) -> World:
    return build(engine)


def book(day: date, unit: int) -> CellRequest:
    return CellRequest(day=day, unit_id=unit, action="book")


def cancel(day: date, unit: int) -> CellRequest:
    return CellRequest(day=day, unit_id=unit, action="cancel")


def check(engine, child: int, *cells: CellRequest, now: datetime = NOW, **options: Any):
    with Session(engine) as db:
        return check_cells(db, child_id=child, cells=list(cells), now=now, **options)


def apply(engine, world: World, child: int, *cells: CellRequest, now: datetime = NOW, **options: Any):
    with Session(engine) as db:
        result = apply_cells(
            db, child_id=child, cells=list(cells), agent_id=world.agent, source=Source.AGENT, now=now, **options
        )
        db.commit()
        return result


def states(engine, child: int) -> dict[tuple[date, int], str]:
    with Session(engine) as db:
        return {(b.day, b.unit_id): b.state.value for b in db.exec(select(Booking).where(Booking.child_id == child))}


def rules(checks) -> list[str]:
    return [c.rule for c in checks]


# --------------------------------------------------------------------------------------
# Booking and cancelling
# --------------------------------------------------------------------------------------


def test_book_then_cancel_writes_the_cells_and_the_history(engine, world):
    lea = world.kids["Léa"]
    checks = check(engine, lea, book(WED, world.matin), book(WED, world.repas))
    assert [(c.unit_name, c.activity_name, c.allowed, c.waiting_list, c.rule) for c in checks] == [
        ("Matin", "Mercredi", True, False, ""),
        ("Repas", "Mercredi", True, False, ""),
    ]
    assert [c.places_left for c in checks] == [1, None]  # 2 places for Maternelle, Léa takes one
    assert states(engine, lea) == {}  # checking writes nothing

    apply(engine, world, lea, book(WED, world.matin), book(WED, world.repas))
    assert states(engine, lea) == {(WED, world.matin): "reserved", (WED, world.repas): "reserved"}

    done = apply(engine, world, lea, cancel(WED, world.matin), cancel(WED, world.repas))
    assert all(c.allowed for c in done)
    assert states(engine, lea) == {}
    with Session(engine) as db:
        entries = db.exec(select(AuditEntry).where(AuditEntry.entity == "booking").order_by(col(AuditEntry.id))).all()
    assert [(e.action, e.entity_id, e.agent_id) for e in entries] == [
        ("update", lea, world.agent),
        ("update", lea, world.agent),
    ]
    assert entries[0].before == {
        "child": "Léa Famille Léa",
        "cells": ["09/12/2026 Matin – Mercredi : libre", "09/12/2026 Repas – Mercredi : libre"],
    }
    assert entries[0].after is not None
    assert entries[0].after["cells"] == [
        "09/12/2026 Matin – Mercredi : réservée",
        "09/12/2026 Repas – Mercredi : réservée",
    ]
    assert entries[1].after is not None
    assert entries[1].after["cells"] == [
        "09/12/2026 Matin – Mercredi : libre",
        "09/12/2026 Repas – Mercredi : libre",
    ]


def test_booking_an_already_booked_cell_changes_nothing(engine, world):
    lea = world.kids["Léa"]
    apply(engine, world, lea, book(WED, world.matin))
    again = apply(engine, world, lea, book(WED, world.matin))
    assert again[0].allowed and again[0].rule == ""
    with Session(engine) as db:
        assert len(db.exec(select(AuditEntry).where(AuditEntry.entity == "booking")).all()) == 1


def test_cancel_of_a_cell_not_booked_is_refused(engine, world):
    checks = check(engine, world.kids["Léa"], cancel(WED, world.matin))
    assert (checks[0].allowed, checks[0].rule) == (False, "Aucune réservation à annuler")


def test_unknown_unit_duplicate_cell_and_unknown_child(engine, world):
    lea = world.kids["Léa"]
    checks = check(engine, lea, book(WED, 999_999), book(WED, world.matin), book(WED, world.matin))
    assert rules(checks) == ["Unité inconnue (n° 999999)", "", "Cellule demandée deux fois dans la même demande"]
    with pytest.raises(NotFound, match="Enfant introuvable"):
        check(engine, 999_999, book(WED, world.matin))


# --------------------------------------------------------------------------------------
# The opening calendar and the enrollment
# --------------------------------------------------------------------------------------


def test_closed_days_say_why(engine, world):
    lea = world.kids["Léa"]
    far = datetime(2026, 9, 1, 8, 0, tzinfo=PARIS)  # before every deadline
    checks = check(
        engine,
        lea,
        book(date(2026, 11, 11), world.matin),  # public holiday, a Wednesday
        book(date(2026, 12, 23), world.matin),  # school holidays
        book(date(2027, 1, 13), world.matin),  # closure of the activity
        book(date(2026, 12, 10), world.matin),  # a Thursday
        book(date(2027, 7, 7), world.matin),  # after the last period, before the activity's end
        book(date(2027, 7, 14), world.matin),  # after the activity
        now=far,
    )
    assert rules(checks) == [
        "Jour férié : Armistice",
        "Vacances scolaires : Vacances de Noël",
        "Jour de fermeture : Travaux",
        "Pas d'accueil le jeudi",
        "Hors des périodes d'ouverture de Mercredi",
        "Hors des dates de Mercredi (du 02/09/2026 au 09/07/2027)",
    ]
    assert not any(c.allowed for c in checks)


def test_school_holidays_close_school_time_activities_only(engine, world):
    lea = world.kids["Léa"]
    holiday = date(2026, 12, 23)
    checks = check(engine, lea, book(holiday, world.matin), book(holiday, world.atelier))
    assert [(c.activity_name, c.allowed, c.rule) for c in checks] == [
        ("Mercredi", False, "Vacances scolaires : Vacances de Noël"),
        ("Stage théâtre", True, ""),  # an accueil de loisirs opens during the holidays
    ]
    # A public holiday closes every activity, holidays ones included.
    christmas = check(engine, lea, book(date(2026, 12, 25), world.atelier))
    assert christmas[0].rule == "Jour férié : Noël"


def test_the_child_needs_an_accepted_enrollment_covering_the_day(engine, world):
    assert rules(check(engine, world.kids["Ivy"], book(WED, world.matin))) == ["Aucune inscription à Mercredi"]
    assert rules(check(engine, world.kids["Paul"], book(WED, world.matin))) == [
        "Inscription à Mercredi non acceptée (en attente)"
    ]
    assert rules(check(engine, world.kids["Jade"], book(WED, world.matin))) == [
        "Hors des dates d'inscription (du 01/01/2027 au 09/07/2027)"
    ]
    assert rules(check(engine, world.kids["Jade"], book(date(2027, 1, 6), world.matin))) == [""]


# --------------------------------------------------------------------------------------
# Notice deadline
# --------------------------------------------------------------------------------------


def test_notice_deadline_counts_business_days_or_calendar_days():
    # J-2 business days, 12:00: Wednesday -> Monday; Monday -> the Thursday before.
    assert notice_deadline(date(2026, 11, 25), notice_days=2, notice_time=time(12), business_days=True) == (
        datetime(2026, 11, 23, 12, 0, tzinfo=PARIS)
    )
    assert notice_deadline(date(2026, 11, 30), notice_days=2, notice_time=time(12), business_days=True) == (
        datetime(2026, 11, 26, 12, 0, tzinfo=PARIS)
    )
    # The day before at 15:00, week-ends included.
    assert notice_deadline(date(2026, 11, 30), notice_days=1, notice_time=time(15), business_days=False) == (
        datetime(2026, 11, 29, 15, 0, tzinfo=PARIS)
    )


def test_business_days_notice_just_before_and_after(engine, world):
    lea = world.kids["Léa"]
    day = date(2026, 11, 25)  # Wednesday: deadline Monday 23/11 12:00
    before = check(engine, lea, book(day, world.matin), now=datetime(2026, 11, 23, 11, 59, tzinfo=PARIS))
    assert (before[0].allowed, before[0].notice_passed, before[0].rule) == (True, False, "")
    after = check(engine, lea, book(day, world.matin), now=datetime(2026, 11, 23, 12, 0, tzinfo=PARIS))
    assert (after[0].allowed, after[0].notice_passed) == (False, True)
    assert after[0].rule == "Délai de prévenance dépassé (J-2 ouvrés à 12:00)"
    # The same instant in UTC is judged alike (11:00 UTC is 12:00 in Paris).
    utc = check(engine, lea, book(day, world.matin), now=datetime(2026, 11, 23, 11, 0, tzinfo=UTC))
    assert utc[0].notice_passed
    # The régie may override it; the cell still says the deadline passed.
    forced = check(
        engine,
        lea,
        book(day, world.matin),
        now=datetime(2026, 11, 23, 12, 0, tzinfo=PARIS),
        override_notice=True,
        reason="Accord de la directrice",
    )
    assert (forced[0].allowed, forced[0].notice_passed, forced[0].rule) == (True, True, "")


def test_day_before_notice_applies_to_cancellations_too(engine, world):
    lea = world.kids["Léa"]
    monday = date(2026, 11, 30)  # deadline: Sunday 29/11 at 15:00
    apply(engine, world, lea, book(monday, world.acc_soir))
    sunday = datetime(2026, 11, 29, 14, 59, tzinfo=PARIS)
    assert check(engine, lea, cancel(monday, world.acc_soir), now=sunday)[0].allowed
    late = check(engine, lea, cancel(monday, world.acc_soir), now=datetime(2026, 11, 29, 15, 0, tzinfo=PARIS))
    assert (late[0].allowed, late[0].rule) == (False, "Délai de prévenance dépassé (la veille à 15:00)")


def test_notice_is_judged_when_the_family_asked(engine, world):
    lea = world.kids["Léa"]
    day = date(2026, 11, 25)
    decided = datetime(2026, 11, 24, 9, 0, tzinfo=PARIS)  # the bannette decides after the deadline
    asked = datetime(2026, 11, 22, 20, 0, tzinfo=PARIS)  # the family asked in time
    assert check(engine, lea, book(day, world.matin), now=decided, asked_at=asked)[0].allowed
    done = apply(engine, world, lea, book(day, world.matin), now=decided, asked_at=asked)
    assert done[0].allowed
    with Session(engine) as db:
        booking = db.exec(select(Booking).where(Booking.child_id == lea)).one()
    assert booking.changed_at == decided  # written at the decision, judged at the request


# --------------------------------------------------------------------------------------
# Capacity, waiting list, promotion
# --------------------------------------------------------------------------------------


def test_beyond_capacity_goes_to_the_waiting_list_and_a_cancel_promotes_the_first(engine, world):
    kids = world.kids
    apply(engine, world, kids["Tom"], book(WED, world.matin))
    apply(engine, world, kids["Zoé"], book(WED, world.matin))
    full = check(engine, kids["Léa"], book(WED, world.matin))
    assert (full[0].allowed, full[0].waiting_list, full[0].rule, full[0].places_left) == (True, True, WAITING, 0)
    assert WAITING == "Limite de capacité atteinte : liste d'attente"
    apply(engine, world, kids["Léa"], book(WED, world.matin), now=datetime(2026, 11, 23, 10, 0, tzinfo=PARIS))
    apply(engine, world, kids["Hugo"], book(WED, world.matin), now=datetime(2026, 11, 23, 10, 5, tzinfo=PARIS))
    assert states(engine, kids["Léa"]) == {(WED, world.matin): "waiting_list"}
    assert states(engine, kids["Hugo"]) == {(WED, world.matin): "waiting_list"}
    # Another group has its own places (none set for Élémentaire: unlimited).
    other_group = check(engine, kids["Noé"], book(WED, world.matin))
    assert (other_group[0].waiting_list, other_group[0].places_left) == (False, None)

    done = apply(engine, world, kids["Tom"], cancel(WED, world.matin), now=datetime(2026, 11, 23, 11, 0, tzinfo=PARIS))
    assert done[0].allowed
    promoted = done[0].promoted
    assert promoted is not None
    assert (promoted.child_id, promoted.child_name, promoted.day, promoted.unit_id) == (
        kids["Léa"],
        "Léa Famille Léa",
        WED,
        world.matin,
    )
    assert states(engine, kids["Léa"]) == {(WED, world.matin): "reserved"}  # the oldest waiting
    assert states(engine, kids["Hugo"]) == {(WED, world.matin): "waiting_list"}
    assert states(engine, kids["Tom"]) == {}
    with Session(engine) as db:
        lea_family = get_row(db, Child, kids["Léa"]).family_id
        entry = db.exec(
            select(AuditEntry).where(AuditEntry.family_id == lea_family, AuditEntry.source == Source.SYSTEM)
        ).one()
    assert entry.before == {"child": "Léa Famille Léa", "cells": ["09/12/2026 Matin – Mercredi : liste d'attente"]}
    assert entry.after == {"child": "Léa Famille Léa", "cells": ["09/12/2026 Matin – Mercredi : réservée"]}


def test_cancelling_a_waiting_cell_promotes_nobody(engine, world):
    kids = world.kids
    for name in ("Tom", "Zoé", "Léa", "Hugo"):
        apply(engine, world, kids[name], book(WED, world.matin))
    done = apply(engine, world, kids["Léa"], cancel(WED, world.matin))
    assert done[0].allowed and done[0].promoted is None
    assert states(engine, kids["Hugo"]) == {(WED, world.matin): "waiting_list"}


def test_a_day_capacity_overrides_the_usual_one(engine, world):
    kids = world.kids
    first = apply(engine, world, kids["Tom"], book(OVERRIDE_WED, world.matin))
    assert (first[0].waiting_list, first[0].places_left) == (False, 0)
    second = apply(engine, world, kids["Zoé"], book(OVERRIDE_WED, world.matin))
    assert second[0].waiting_list
    assert states(engine, kids["Zoé"]) == {(OVERRIDE_WED, world.matin): "waiting_list"}


def test_requested_cells_hold_a_place_and_booking_one_confirms_it(engine, world):
    kids = world.kids
    with Session(engine) as db:
        enrollment = db.exec(
            select(Enrollment).where(Enrollment.child_id == kids["Tom"], Enrollment.activity_id == world.mercredi)
        ).one()
        db.add(
            Booking(
                child_id=kids["Tom"],
                day=WED,
                unit_id=world.matin,
                enrollment_id=id_of(enrollment),
                state=BookingState.REQUESTED,
                source=Source.PORTAL,
                changed_at=NOW,
            )
        )
        db.commit()
    apply(engine, world, kids["Zoé"], book(WED, world.matin))
    assert check(engine, kids["Léa"], book(WED, world.matin))[0].waiting_list  # Tom's request holds a place
    confirmed = apply(engine, world, kids["Tom"], book(WED, world.matin))
    assert (confirmed[0].allowed, confirmed[0].waiting_list, confirmed[0].places_left) == (True, False, 0)
    assert states(engine, kids["Tom"]) == {(WED, world.matin): "reserved"}


# --------------------------------------------------------------------------------------
# The child's day: combinations and overlaps
# --------------------------------------------------------------------------------------


def test_repas_needs_matin_or_apres_midi(engine, world):
    lea = world.kids["Léa"]
    alone = check(engine, lea, book(WED, world.repas))
    assert (alone[0].allowed, alone[0].rule) == (False, "Repas sans Matin ni Après-midi le mercredi")
    with_afternoon = check(engine, lea, book(WED, world.repas), book(WED, world.apres_midi))
    assert [c.allowed for c in with_afternoon] == [True, True]
    # A partner refused for another reason does not count.
    late = datetime(2026, 12, 7, 12, 0, tzinfo=PARIS)
    assert rules(check(engine, lea, book(WED, world.matin), book(WED, world.repas), now=late)) == [
        "Délai de prévenance dépassé (J-2 ouvrés à 12:00)",
        "Délai de prévenance dépassé (J-2 ouvrés à 12:00)",
    ]


def test_a_partner_cannot_be_cancelled_under_a_booked_repas(engine, world):
    lea = world.kids["Léa"]
    apply(engine, world, lea, book(WED, world.matin), book(WED, world.repas))
    refused = apply(engine, world, lea, cancel(WED, world.matin))
    assert (refused[0].allowed, refused[0].rule) == (False, "Repas sans Matin ni Après-midi le mercredi")
    assert states(engine, lea) == {(WED, world.matin): "reserved", (WED, world.repas): "reserved"}
    # Swapping Matin for Après-midi, or cancelling both, is fine.
    swap = check(engine, lea, cancel(WED, world.matin), book(WED, world.apres_midi))
    assert [c.allowed for c in swap] == [True, True]
    both = apply(engine, world, lea, cancel(WED, world.matin), cancel(WED, world.repas))
    assert [c.allowed for c in both] == [True, True]
    assert states(engine, lea) == {}


def test_excluded_units_cannot_share_a_day(engine, world):
    lea = world.kids["Léa"]
    checks = check(engine, lea, book(WED, world.matin), book(WED, world.journee))
    assert [(c.unit_name, c.allowed, c.rule) for c in checks] == [
        ("Matin", True, ""),
        ("Journée", False, "Journée impossible avec Matin le même jour"),
    ]
    apply(engine, world, lea, book(WED, world.journee))
    later = check(engine, lea, book(WED, world.matin))
    assert later[0].rule == "Matin impossible avec Journée le même jour"
    # A refusal can bring another: without its Matin, the Repas has no partner.
    chained = check(engine, lea, book(WED, world.matin), book(WED, world.repas))
    assert rules(chained) == [
        "Matin impossible avec Journée le même jour",
        "Repas sans Matin ni Après-midi le mercredi",
    ]


def test_overlapping_units_of_two_activities(engine, world):
    lea = world.kids["Léa"]
    apply(engine, world, lea, book(WED, world.matin))
    stage = check(engine, lea, book(WED, world.atelier))  # 11:00-12:30 against Matin 07:30-11:45
    assert (stage[0].allowed, stage[0].rule) == (False, "Déjà inscrit sur Mercredi – Matin à la même heure")
    # Cancelling Matin in the same request frees the time.
    swap = check(engine, lea, cancel(WED, world.matin), book(WED, world.atelier))
    assert [c.allowed for c in swap] == [True, True]


# --------------------------------------------------------------------------------------
# Locked cells
# --------------------------------------------------------------------------------------


def _booking(db: Session, child: int, day: date, unit: int, activity: int, state: BookingState) -> Booking:
    enrollment = db.exec(
        select(Enrollment).where(Enrollment.child_id == child, Enrollment.activity_id == activity)
    ).one()
    booking = Booking(
        child_id=child,
        day=day,
        unit_id=unit,
        enrollment_id=id_of(enrollment),
        state=state,
        source=Source.AGENT,
        changed_at=NOW,
    )
    db.add(booking)
    db.flush()
    return booking


def test_attendance_and_billing_lock_the_cell(engine, world):
    lea = world.kids["Léa"]
    past = date(2026, 11, 18)
    with Session(engine) as db:
        _booking(db, lea, past, world.matin, world.mercredi, BookingState.PRESENT)
        _booking(db, lea, past, world.apres_midi, world.mercredi, BookingState.ABSENT_JUSTIFIED)
        billed = _booking(db, lea, WED, world.apres_midi, world.mercredi, BookingState.RESERVED)
        db.add(
            Charge(
                family_id=get_row(db, Child, lea).family_id,
                child_id=lea,
                booking_id=billed.id,
                regie_id=db.exec(select(Activity.regie_id).where(Activity.id == world.mercredi)).one(),
                kind=ChargeKind.SERVICE,
                day=WED,
                label="Après-midi – Mercredi",
                quantity=Decimal(1),
                unit_price_cents=450,
                amount_cents=450,
            )
        )
        db.commit()
    checks = check(
        engine,
        lea,
        cancel(past, world.matin),
        book(past, world.apres_midi),
        cancel(WED, world.apres_midi),
        override_notice=True,
    )
    assert rules(checks) == [
        "Cellule verrouillée : présence relevée (modifiable par un régisseur, avec un motif)",
        "Cellule verrouillée : absence relevée (modifiable par un régisseur, avec un motif)",
        "Cellule verrouillée : facturée (modifiable par un régisseur, avec un motif)",
    ]
    applied = apply(engine, world, lea, cancel(past, world.matin), override_notice=True, reason="Erreur")
    assert not applied[0].allowed
    assert states(engine, lea)[(past, world.matin)] == "present"


# --------------------------------------------------------------------------------------
# Speed: a few queries whatever the number of cells
# --------------------------------------------------------------------------------------


def test_four_hundred_cells_take_a_handful_of_queries(engine, world):
    lea = world.kids["Léa"]
    weekdays = [date.fromordinal(date(2026, 11, 30).toordinal() + 7 * week + d) for week in range(40) for d in range(5)]
    wednesday_units = (world.matin, world.repas, world.apres_midi, world.journee, world.atelier)
    cells = [book(day, world.acc_soir) for day in weekdays]
    cells += [book(day, unit) for day in weekdays if day.isoweekday() == 3 for unit in wednesday_units]
    assert len(set(cells)) == 400
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        checks = check(engine, lea, *cells)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(checks) == 400
    assert len(statements) <= 12
    assert any(c.allowed for c in checks)


# --------------------------------------------------------------------------------------
# Overrides by the régie, audited with their reason
# --------------------------------------------------------------------------------------


def _last_booking_audit(engine, child: int) -> AuditEntry:
    with Session(engine) as db:
        entry = db.exec(
            select(AuditEntry)
            .where(AuditEntry.entity == "booking", AuditEntry.entity_id == child)
            .order_by(col(AuditEntry.id).desc())
        ).first()
    assert entry is not None, f"no booking audited for child {child}"
    return entry


def test_notice_override_needs_a_reason_and_is_audited_with_it(engine, world):
    lea = world.kids["Léa"]
    late = datetime(2026, 12, 7, 13, 0, tzinfo=PARIS)  # past the deadline for Wednesday 9/12
    no_reason = check(engine, lea, book(WED, world.matin), now=late, override_notice=True)
    assert no_reason[0].overridable == "notice"
    assert no_reason[0].rule == (
        "Délai de prévenance dépassé (J-2 ouvrés à 12:00) ; un motif est obligatoire pour passer outre"
    )
    done = apply(
        engine, world, lea, book(WED, world.matin), now=late, override_notice=True, reason="Reprise du travail"
    )
    assert done[0].allowed and done[0].state == BookingState.RESERVED
    assert done[0].overrides == ("délai de prévenance dépassé (J-2 ouvrés à 12:00)",)
    entry = _last_booking_audit(engine, lea)
    assert entry.after is not None
    assert entry.after["reason"] == "Reprise du travail"
    assert entry.after is not None
    assert entry.after["overrides"] == [
        "09/12/2026 Matin – Mercredi : délai de prévenance dépassé (J-2 ouvrés à 12:00)"
    ]


def test_a_regisseur_unlocks_a_recorded_cell_with_a_reason(engine, world):
    lea = world.kids["Léa"]
    past = date(2026, 11, 18)
    with Session(engine) as db:
        _booking(db, lea, past, world.matin, world.mercredi, BookingState.PRESENT)
        db.commit()
    fix = CellRequest(day=past, unit_id=world.matin, action="set", state=BookingState.ABSENT_JUSTIFIED)
    without = check(engine, lea, fix, agent=REGISSEUR)
    assert without[0].rule == "Cellule verrouillée : présence relevée ; un motif est obligatoire pour la modifier"
    assert without[0].overridable == "lock"
    assert check(engine, lea, fix)[0].overridable == ""  # the desk may not: no reason is asked
    done = apply(engine, world, lea, fix, agent=REGISSEUR, reason="Certificat médical reçu")
    assert done[0].allowed, done[0].rule
    assert states(engine, lea)[(past, world.matin)] == "absent_justified"
    entry = _last_booking_audit(engine, lea)
    assert entry.before is not None
    assert entry.before["cells"] == ["18/11/2026 Matin – Mercredi : présent"]
    assert entry.after is not None
    assert entry.after["cells"] == ["18/11/2026 Matin – Mercredi : absence justifiée"]
    assert entry.after is not None
    assert entry.after["overrides"] == ["18/11/2026 Matin – Mercredi : cellule verrouillée (présence relevée)"]
    assert entry.after is not None
    assert entry.after["reason"] == "Certificat médical reçu"


# --------------------------------------------------------------------------------------
# Attendance and the other stored states
# --------------------------------------------------------------------------------------


def mark(day: date, unit: int, state: BookingState) -> CellRequest:
    return CellRequest(day=day, unit_id=unit, action="set", state=state)


def test_attendance_on_booked_and_unbooked_cells(engine, world):
    lea = world.kids["Léa"]
    monday = date(2026, 11, 23)  # today (NOW)
    thursday = date(2026, 11, 19)
    with Session(engine) as db:
        _booking(db, lea, monday, world.acc_soir, world.peri, BookingState.RESERVED)
        db.commit()
    checks = check(
        engine,
        lea,
        mark(monday, world.acc_soir, BookingState.PRESENT),
        mark(thursday, world.acc_soir, BookingState.PRESENT),  # came without a booking
        mark(date(2026, 11, 20), world.acc_soir, BookingState.ABSENT_UNJUSTIFIED),
        mark(date(2026, 11, 24), world.acc_soir, BookingState.PRESENT),
        mark(date(2026, 11, 11), world.acc_soir, BookingState.PRESENT_SPECIAL),  # public holiday
    )
    assert [(c.allowed, c.state, c.rule) for c in checks] == [
        (True, BookingState.PRESENT, ""),
        (True, BookingState.PRESENT_SPECIAL, ""),
        (False, None, "Absence impossible : l'enfant n'était pas réservé ce jour-là"),
        (False, None, "Pointage impossible : le 24/11/2026 n'est pas encore arrivé"),
        (False, None, "Jour férié : Armistice"),
    ]
    # An absence may be announced ahead, on a booked day.
    thursday_ahead = date(2026, 11, 26)
    apply(engine, world, lea, book(thursday_ahead, world.acc_soir))
    ahead = apply(engine, world, lea, mark(thursday_ahead, world.acc_soir, BookingState.ABSENT_JUSTIFIED))
    assert ahead[0].allowed and states(engine, lea)[(thursday_ahead, world.acc_soir)] == "absent_justified"
    assert check(engine, lea, cancel(thursday_ahead, world.acc_soir))[0].allowed  # not locked before the day
    apply(engine, world, lea, mark(monday, world.acc_soir, BookingState.PRESENT))
    # Today's attendance may be corrected at once; an older one is locked.
    again = apply(engine, world, lea, mark(monday, world.acc_soir, BookingState.ABSENT_JUSTIFIED))
    assert again[0].allowed and states(engine, lea)[(monday, world.acc_soir)] == "absent_justified"
    tomorrow = datetime(2026, 11, 24, 9, 0, tzinfo=PARIS)
    later = check(engine, lea, mark(monday, world.acc_soir, BookingState.PRESENT), now=tomorrow)
    assert later[0].rule == "Cellule verrouillée : absence relevée (modifiable par un régisseur, avec un motif)"


def test_portal_states_are_decided_in_the_bannette(engine, world):
    lea = world.kids["Léa"]
    checks = check(
        engine, lea, mark(WED, world.matin, BookingState.REQUESTED), mark(WED, world.repas, BookingState.REFUSED)
    )
    assert rules(checks) == [
        "« en attente de validation » : état d'une demande du portail, décidée dans la bannette",
        "« refusée » : état d'une demande du portail, décidée dans la bannette",
    ]


def test_putting_a_booked_child_on_the_waiting_list_gives_the_place_to_the_next(engine, world):
    lea, tom, zoe = world.kids["Léa"], world.kids["Tom"], world.kids["Zoé"]
    apply(engine, world, lea, book(WED, world.matin))
    apply(engine, world, tom, book(WED, world.matin))
    waiting = apply(engine, world, zoe, book(WED, world.matin))  # 2 places: Zoé waits
    assert waiting[0].waiting_list
    moved = apply(engine, world, lea, mark(WED, world.matin, BookingState.WAITING_LIST))
    assert moved[0].state == BookingState.WAITING_LIST
    assert moved[0].promoted is not None and moved[0].promoted.child_id == zoe
    assert states(engine, zoe)[(WED, world.matin)] == "reserved"
    assert states(engine, lea)[(WED, world.matin)] == "waiting_list"


# --------------------------------------------------------------------------------------
# Two agents, one child: a save on cells changed since they were loaded is refused
# --------------------------------------------------------------------------------------


def test_a_save_on_cells_changed_since_loaded_reports_them_and_writes_nothing(engine, world):
    lea = world.kids["Léa"]
    apply(engine, world, lea, book(WED, world.matin))
    with Session(engine) as db:
        booking = db.exec(select(Booking).where(Booking.child_id == lea)).one()
        loaded = {
            (WED, world.matin): CellStamp(booking.id, booking.version),
            (WED, world.repas): FREE_STAMP,
        }
        other = Agent(login="mdurand", display_name="Marc Durand", role=Role.REGISSEUR)
        db.add(other)
        db.commit()
        other_id = other.id
    # Meanwhile another agent books Repas.
    with Session(engine) as db:
        apply_cells(
            db,
            child_id=lea,
            cells=[book(WED, world.repas)],
            agent_id=other_id,
            source=Source.AGENT,
            now=datetime(2026, 11, 23, 10, 30, tzinfo=PARIS),
        )
        db.commit()
    with Session(engine) as db, pytest.raises(StaleCells) as raised:
        apply_cells(
            db,
            child_id=lea,
            cells=[cancel(WED, world.matin), book(WED, world.repas)],
            agent_id=world.agent,
            source=Source.AGENT,
            now=NOW,
            loaded=loaded,
        )
    assert [(c.unit_name, c.state, c.who) for c in raised.value.clashes] == [
        ("Repas", BookingState.RESERVED, "Marc Durand")
    ]
    assert "09/12/2026 Repas – Mercredi : réservée (Marc Durand, le 23/11/2026 10:30)" in str(raised.value)
    # Nothing was written: Matin is still booked.
    assert states(engine, lea)[(WED, world.matin)] == "reserved"
