"""Occupancy of an activity over a month: places held against capacity, the waiting list, closed days."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import event
from sqlmodel import Session, col, func, select

from regie_tui.errors import NotFound, RegieError
from regie_tui.models import (
    Activity,
    ActivityKind,
    ActivityPeriod,
    AgeGroup,
    Booking,
    BookingState,
    Capacity,
    Child,
    Closure,
    DayOff,
    DayOffKind,
    Enrollment,
    EnrollmentStatus,
    Facility,
    FacilityKind,
    Source,
    Unit,
)
from regie_tui.services.bookings.cells import HOLDING
from regie_tui.services.bookings.occupancy import month_label, occupancy_month, parse_month, shift_month
from regie_tui.services.common.sql import id_col, id_of

from builders import add_family, add_regie

DECEMBER = date(2026, 12, 1)
FULL_WED = date(2026, 12, 9)  # Maternelle × Matin filled to its 2 places, one child waiting
OUTING_WED = date(2026, 12, 2)  # one place only that day (sortie), taken by a request
AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@dataclass
class World:
    mercredi: int
    other: int
    matin: int
    repas: int
    other_unit: int
    mater: int
    elem: int


def build(engine) -> World:
    with Session(engine) as db:
        regie = add_regie(db)
        facility = Facility(name="Centre des Lucioles", kind=FacilityKind.LEISURE_CENTRE)
        db.add(facility)
        db.flush()
        activities = []
        for name in ("Mercredis Lucioles", "Autre accueil"):
            activity = Activity(
                regie_id=regie,
                facility_id=id_of(facility),
                name=name,
                kind=ActivityKind.WEDNESDAY,
                start_date=date(2026, 9, 2),
                end_date=date(2027, 7, 7),
            )
            db.add(activity)
            db.flush()
            activities.append(id_of(activity))
            db.add(
                ActivityPeriod(
                    activity_id=id_of(activity),
                    name="Année",
                    start_date=date(2026, 9, 2),
                    end_date=date(2027, 7, 7),
                    weekdays="3",
                )
            )
        mercredi, other = activities
        units = {}
        for activity_id, name, start, end, position in (
            (mercredi, "Repas", time(12, 0), time(13, 30), 2),
            (mercredi, "Matin", time(7, 30), time(12, 0), 1),
            (other, "Matin", time(7, 30), time(12, 0), 1),
        ):
            unit = Unit(activity_id=activity_id, name=name, start_time=start, end_time=end, position=position)
            db.add(unit)
            db.flush()
            units[(activity_id, name)] = id_of(unit)
        groups = {}
        for activity_id, name, low, high, position in (
            (mercredi, "Élémentaire", 6, 11, 2),
            (mercredi, "Maternelle", 3, 5, 1),
            (other, "Tous", 3, 11, 1),
        ):
            group = AgeGroup(activity_id=activity_id, name=name, min_age=low, max_age=high, position=position)
            db.add(group)
            db.flush()
            groups[(activity_id, name)] = id_of(group)
        matin, repas = units[(mercredi, "Matin")], units[(mercredi, "Repas")]
        mater, elem = groups[(mercredi, "Maternelle")], groups[(mercredi, "Élémentaire")]
        other_unit, other_group = units[(other, "Matin")], groups[(other, "Tous")]
        db.add_all(
            [
                Capacity(age_group_id=mater, unit_id=matin, places=2),
                Capacity(age_group_id=mater, unit_id=matin, day=OUTING_WED, places=1, reason="Sortie"),
                Capacity(age_group_id=mater, unit_id=repas, places=10),
                Capacity(age_group_id=elem, unit_id=repas, places=12),
                # Élémentaire × Matin: no row, unlimited.
                Capacity(age_group_id=other_group, unit_id=other_unit, places=1),
                Closure(activity_id=mercredi, day=date(2026, 12, 16), reason="Travaux"),
                DayOff(day=date(2026, 12, 23), kind=DayOffKind.SCHOOL_HOLIDAY, name="Vacances de Noël"),
                DayOff(day=date(2026, 12, 30), kind=DayOffKind.SCHOOL_HOLIDAY, name="Vacances de Noël"),
            ]
        )
        kids = {}
        for first, birth in (
            ("Léa", date(2021, 5, 10)),
            ("Tom", date(2021, 3, 1)),
            ("Zoé", date(2022, 1, 20)),
            ("Hugo", date(2021, 8, 8)),
            ("Noé", date(2018, 4, 4)),
        ):
            add_family(db, f"FAMILLE {first.upper()}", children=[(first, birth)])
            kids[first] = db.exec(select(id_col(Child.id)).where(Child.first_name == first)).one()
        enrollments = {}
        for first, child in kids.items():
            enrollment = Enrollment(
                child_id=child,
                activity_id=mercredi,
                age_group_id=elem if first == "Noé" else mater,
                status=EnrollmentStatus.ACCEPTED,
                source=Source.AGENT,
            )
            db.add(enrollment)
            db.flush()
            enrollments[first] = (child, id_of(enrollment))
        other_enrollment = Enrollment(
            child_id=kids["Léa"],
            activity_id=other,
            age_group_id=other_group,
            status=EnrollmentStatus.ACCEPTED,
            source=Source.AGENT,
        )
        db.add(other_enrollment)
        db.flush()

        def booking(first: str, day: date, unit: int, state: BookingState, enrollment: int | None = None) -> Booking:
            child, enrollment_id = enrollments[first]
            return Booking(
                child_id=child,
                day=day,
                unit_id=unit,
                enrollment_id=enrollment or enrollment_id,
                state=state,
                source=Source.AGENT,
                changed_at=AT,
            )

        db.add_all(
            [
                # 9 December, Matin: Maternelle full (2 of 2) and one child waiting; Noé in Élémentaire.
                booking("Léa", FULL_WED, matin, BookingState.RESERVED),
                booking("Tom", FULL_WED, matin, BookingState.PRESENT),
                booking("Zoé", FULL_WED, matin, BookingState.WAITING_LIST),
                booking("Hugo", FULL_WED, matin, BookingState.REFUSED),  # holds nothing
                booking("Noé", FULL_WED, matin, BookingState.RESERVED),
                booking("Léa", FULL_WED, repas, BookingState.ABSENT_UNJUSTIFIED),
                booking("Noé", FULL_WED, repas, BookingState.ABSENT_JUSTIFIED),
                # 2 December (sortie, one place): a pending request fills it.
                booking("Hugo", OUTING_WED, matin, BookingState.REQUESTED),
                # 25 November and 6 January: outside December.
                booking("Léa", date(2026, 11, 25), matin, BookingState.RESERVED),
                booking("Tom", date(2027, 1, 6), matin, BookingState.RESERVED),
                # Another activity's unit, the same day.
                booking("Léa", FULL_WED, other_unit, BookingState.RESERVED, id_of(other_enrollment)),
            ]
        )
        db.commit()
        return World(mercredi, other, matin, repas, other_unit, mater, elem)


@pytest.fixture
def world(engine) -> World:
    return build(engine)


def month_of(engine, activity_id: int, month: date = DECEMBER):
    with Session(engine) as db:
        return occupancy_month(db, activity_id=activity_id, month=month)


def test_a_full_group_its_waiting_child_and_an_unlimited_group(engine, world):
    december = month_of(engine, world.mercredi)

    assert december.activity.name == "Mercredis Lucioles"
    assert [u.name for u in december.units] == ["Matin", "Repas"]  # by position
    assert [g.name for g in december.groups] == ["Maternelle", "Élémentaire"]
    day = next(d for d in december.days if d.day == FULL_WED)
    assert day.closed == ""
    matin, repas = day.units
    assert matin.unit_id == world.matin
    mater, elem = matin.groups
    assert (mater.group_id, mater.capacity, mater.booked, mater.waiting, mater.left, mater.full) == (
        world.mater,
        2,
        2,
        1,
        0,
        True,
    )
    assert (elem.capacity, elem.booked, elem.waiting, elem.left, elem.full) == (None, 1, 0, None, False)
    # The unit: one group full, the other unlimited, so places remain for some children.
    assert (matin.booked, matin.waiting, matin.capacity, matin.some_full, matin.full) == (3, 1, None, True, False)
    # Absences hold their place (attendance recorded), justified or not.
    assert [(g.booked, g.capacity, g.left) for g in repas.groups] == [(1, 10, 9), (1, 12, 11)]
    assert (repas.booked, repas.capacity, repas.left, repas.some_full) == (2, 22, 20, False)
    assert (day.booked, day.waiting, day.some_full) == (5, 1, True)


def test_a_day_override_of_capacity_and_a_pending_request(engine, world):
    december = month_of(engine, world.mercredi)
    outing = next(d for d in december.days if d.day == OUTING_WED)
    mater = outing.units[0].groups[0]
    assert (mater.capacity, mater.booked, mater.full) == (1, 1, True)
    assert outing.units[1].groups[0].capacity == 10  # Repas keeps its usual figure
    assert [d.day for d in december.full_days] == [OUTING_WED, FULL_WED]


def test_every_day_of_the_month_with_closed_ones_and_their_reason(engine, world):
    december = month_of(engine, world.mercredi, date(2026, 12, 17))  # any day of the month

    assert december.month == DECEMBER
    assert [d.day.day for d in december.days] == list(range(1, 32))
    reasons = {d.day.day: d.closed for d in december.days}
    assert reasons[1] == "Pas d'accueil le mardi"
    assert reasons[16] == "Jour de fermeture : Travaux"
    assert reasons[23] == "Vacances scolaires : Vacances de Noël"
    assert [d.day.day for d in december.open_days] == [2, 9]
    for day in december.days:
        if day.closed:
            assert day.units == ()
            assert (day.booked, day.waiting, day.capacity) == (0, 0, None)
    # An empty open day: capacities, nothing booked.
    january = month_of(engine, world.mercredi, date(2027, 1, 1))
    thirteenth = next(d for d in january.days if d.day == date(2027, 1, 13))
    assert [(g.capacity, g.booked, g.left, g.full) for g in thirteenth.units[0].groups] == [
        (2, 0, 2, False),
        (None, 0, None, False),
    ]
    sixth = next(d for d in january.days if d.day == date(2027, 1, 6))
    assert sixth.units[0].groups[0].booked == 1


def test_only_the_activity_s_units_are_counted(engine, world):
    other = month_of(engine, world.other)
    day = next(d for d in other.days if d.day == FULL_WED)
    (unit,) = day.units
    (group,) = unit.groups
    assert (unit.unit_id, group.capacity, group.booked, group.full) == (world.other_unit, 1, 1, True)


def test_one_grouped_query_reads_the_bookings(engine, world):
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement.lower())

    event.listen(engine, "before_cursor_execute", seen)
    try:
        month_of(engine, world.mercredi)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    reading_bookings = [s for s in statements if "from booking" in s]
    assert len(reading_bookings) == 1
    assert "group by" in reading_bookings[0]
    assert len(statements) <= 10


def test_an_unknown_activity_is_told_in_french(engine, world):
    with pytest.raises(NotFound, match="Activité inconnue"):
        month_of(engine, 999_999)


def test_months_are_read_and_shifted():
    assert parse_month("2026-12") == DECEMBER
    assert parse_month(" 12/2026 ") == DECEMBER
    for bad in ("2026-13", "décembre", "26-12", ""):
        with pytest.raises(RegieError, match="Mois invalide"):
            parse_month(bad)
    assert shift_month(DECEMBER, 1) == date(2027, 1, 1)
    assert shift_month(date(2027, 1, 1), -1) == DECEMBER
    assert shift_month(DECEMBER, -12) == date(2025, 12, 1)
    assert month_label(DECEMBER) == "décembre 2026"


def test_the_seeded_town_matches_a_plain_count(town_url):
    """On the realistic town: every open day's totals are the bookings held and waiting."""
    from regie_tui.db import make_engine

    engine = make_engine(town_url)
    try:
        with Session(engine) as db:
            busiest = db.exec(
                select(Unit.activity_id, func.min(Booking.day))
                .join(Unit, col(Unit.id) == Booking.unit_id)
                .where(Booking.day >= DECEMBER)
                .group_by(col(Unit.activity_id))
                .order_by(func.count().desc())
            ).first()
            assert busiest is not None, "the seeded town has bookings from December on"
            activity_id, month = busiest
            occupancy = occupancy_month(db, activity_id=activity_id, month=month)
            unit_ids = [u.id for u in occupancy.units]
            for day in occupancy.open_days:
                held = db.exec(
                    select(func.count())
                    .select_from(Booking)
                    .where(col(Booking.unit_id).in_(unit_ids), Booking.day == day.day, col(Booking.state).in_(HOLDING))
                ).one()
                waiting = db.exec(
                    select(func.count())
                    .select_from(Booking)
                    .where(
                        col(Booking.unit_id).in_(unit_ids),
                        Booking.day == day.day,
                        Booking.state == BookingState.WAITING_LIST,
                    )
                ).one()
                assert (day.booked, day.waiting) == (held, waiting)
            assert sum(d.booked for d in occupancy.days) > 0
    finally:
        engine.dispose()
