"""place_count: the places held per unit × day × age group, kept exact by the database's triggers.

After every kind of write (the rules' own, plain ORM updates and deletes, bulk inserts, an
enrolment moved to another group, deletions cascading from an enrolment or a child),
the table equals a fresh count of the holding bookings.
"""

from datetime import date, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy import func
from sqlmodel import Session, col, select

from regie_tui.clock import PARIS
from regie_tui.db import make_engine
from regie_tui.models import Booking, BookingState, Child, Enrollment, PlaceCount, Source
from regie_tui.services.bookings.cells import HOLDING, CellRequest
from regie_tui.services.bookings.judge import WAITING
from regie_tui.services.bookings.rules import apply_cells, check_cells

from booking_world import NOW, WED, World, build
from helpers import get_row

NEXT_WED = date(2026, 12, 16)


@pytest.fixture
def world(engine) -> World:
    return build(engine)


def recount(db: Session) -> dict[tuple[int, date, int], int]:
    """The places held, counted from the bookings themselves."""
    rows = db.exec(
        select(col(Booking.unit_id), col(Booking.day), col(Enrollment.age_group_id), func.count())
        .join(Enrollment, col(Enrollment.id) == Booking.enrollment_id)
        .where(col(Booking.state).in_(HOLDING))
        .group_by(col(Booking.unit_id), col(Booking.day), col(Enrollment.age_group_id))
    )
    return {(unit_id, day, group_id): held for unit_id, day, group_id, held in rows}


def stored(db: Session) -> dict[tuple[int, date, int], int]:
    """place_count without its rows fallen to 0."""
    return {(p.unit_id, p.day, p.age_group_id): p.held for p in db.exec(select(PlaceCount)) if p.held}


def assert_exact(engine) -> dict[tuple[int, date, int], int]:
    with Session(engine) as db:
        counted = recount(db)
        assert stored(db) == counted
        assert db.exec(select(func.count()).where(PlaceCount.held < 0)).one() == 0
    return counted


def held(engine, unit: int, day: date, group: int) -> int:
    with Session(engine) as db:
        row = db.get(PlaceCount, (unit, day, group))
        return row.held if row is not None else 0


def apply(engine, world: World, child: int, *cells: CellRequest, now: datetime = NOW):
    with Session(engine) as db:
        result = apply_cells(db, child_id=child, cells=list(cells), agent_id=world.agent, source=Source.AGENT, now=now)
        db.commit()
        return result


def book(day: date, unit: int) -> CellRequest:
    return CellRequest(day=day, unit_id=unit, action="book")


def cancel(day: date, unit: int) -> CellRequest:
    return CellRequest(day=day, unit_id=unit, action="cancel")


def set_state(engine, child: int, day: date, unit: int, state: BookingState) -> None:
    with Session(engine) as db:
        booking = db.exec(
            select(Booking).where(Booking.child_id == child, Booking.day == day, Booking.unit_id == unit)
        ).one()
        booking.state = state
        db.add(booking)
        db.commit()


def test_seeded_town_counts_are_exact(town_url):
    """The demo seed loads bookings in bulk (executemany / COPY) and imports the portal: counts exact."""
    engine = make_engine(town_url)
    try:
        counted = assert_exact(engine)
        assert sum(counted.values()) > 1000
    finally:
        engine.dispose()


def test_the_rules_writes_keep_the_counts(engine, world):
    kids = world.kids
    apply(engine, world, kids["Tom"], book(WED, world.matin), book(WED, world.repas), book(NEXT_WED, world.matin))
    apply(engine, world, kids["Zoé"], book(WED, world.matin))
    apply(engine, world, kids["Noé"], book(WED, world.matin))  # Élémentaire: another group
    assert (held(engine, world.matin, WED, world.mater), held(engine, world.matin, WED, world.elem)) == (2, 1)
    assert_exact(engine)

    # Full: the next ones wait, and hold no place.
    apply(engine, world, kids["Léa"], book(WED, world.matin), now=datetime(2026, 11, 23, 10, 0, tzinfo=PARIS))
    apply(engine, world, kids["Hugo"], book(WED, world.matin), now=datetime(2026, 11, 23, 10, 5, tzinfo=PARIS))
    assert held(engine, world.matin, WED, world.mater) == 2
    full = [c.rule for c in _check(engine, kids["Hugo"], book(WED, world.matin))]
    assert full == [WAITING]

    # A cancel frees the place and promotes Léa in the same transaction: still 2 held.
    done = apply(engine, world, kids["Tom"], cancel(WED, world.matin), cancel(WED, world.repas))
    assert done[0].promoted is not None and done[0].promoted.child_id == kids["Léa"]
    assert held(engine, world.matin, WED, world.mater) == 2
    assert held(engine, world.repas, WED, world.mater) == 0
    assert_exact(engine)


def _check(engine, child: int, *cells: CellRequest):
    with Session(engine) as db:
        return check_cells(db, child_id=child, cells=list(cells), now=NOW)


def test_state_changes_and_deletes(engine, world):
    kids = world.kids
    for name in ("Tom", "Zoé"):
        apply(engine, world, kids[name], book(WED, world.matin))
    key = (world.matin, WED, world.mater)
    assert held(engine, *key) == 2

    steps = [
        (BookingState.WAITING_LIST, 1),  # out of the holding states
        (BookingState.REQUESTED, 2),  # a pending request holds a place
        (BookingState.PRESENT, 2),  # attendance: still held
        (BookingState.ABSENT_UNJUSTIFIED, 2),
        (BookingState.REFUSED, 1),
        (BookingState.RESERVED, 2),
    ]
    for state, expected in steps:
        set_state(engine, kids["Tom"], WED, world.matin, state)
        assert held(engine, *key) == expected, state
        assert_exact(engine)

    # Several rows in one statement, as a bulk update would.
    with Session(engine) as db:
        db.exec(sa.update(Booking).where(col(Booking.day) == WED).values(state=BookingState.WAITING_LIST))
        db.commit()
    assert held(engine, *key) == 0
    with Session(engine) as db:
        db.exec(sa.update(Booking).where(col(Booking.day) == WED).values(state=BookingState.RESERVED))
        db.commit()
    assert held(engine, *key) == 2

    # Deletes: a holding booking gives its place back, a waiting one does not count.
    set_state(engine, kids["Zoé"], WED, world.matin, BookingState.WAITING_LIST)
    with Session(engine) as db:
        for booking in db.exec(select(Booking).where(Booking.day == WED)):
            db.delete(booking)
        db.commit()
    assert held(engine, *key) == 0
    assert_exact(engine)


def test_a_rolled_back_write_leaves_the_counts(engine, world):
    tom = world.kids["Tom"]
    with Session(engine) as db:
        apply_cells(
            db, child_id=tom, cells=[book(WED, world.matin)], agent_id=world.agent, source=Source.AGENT, now=NOW
        )
        assert get_row(db, PlaceCount, (world.matin, WED, world.mater)).held == 1  # seen inside the transaction
        db.rollback()
    assert held(engine, world.matin, WED, world.mater) == 0
    assert_exact(engine)


def test_an_enrollment_moved_to_another_group_moves_its_places(engine, world):
    kids = world.kids
    for name in ("Tom", "Zoé"):
        apply(engine, world, kids[name], book(WED, world.matin), book(NEXT_WED, world.matin))
    set_state(engine, kids["Zoé"], NEXT_WED, world.matin, BookingState.WAITING_LIST)  # holds nothing: stays out
    with Session(engine) as db:
        enrollment = db.exec(
            select(Enrollment).where(Enrollment.child_id == kids["Tom"], Enrollment.activity_id == world.mercredi)
        ).one()
        enrollment.age_group_id = world.elem
        db.add(enrollment)
        db.commit()
    assert held(engine, world.matin, WED, world.mater) == 1
    assert held(engine, world.matin, WED, world.elem) == 1
    assert held(engine, world.matin, NEXT_WED, world.mater) == 0
    assert held(engine, world.matin, NEXT_WED, world.elem) == 1
    assert_exact(engine)

    # The rules see the place Tom left in Maternelle (capacity 2): Léa is not put on the waiting list.
    apply(engine, world, kids["Léa"], book(WED, world.matin))
    assert held(engine, world.matin, WED, world.mater) == 2
    assert _check(engine, kids["Hugo"], book(WED, world.matin))[0].rule == WAITING
    assert_exact(engine)


def test_deleting_an_enrollment_or_a_child_cascades_to_the_counts(engine, world):
    kids = world.kids
    for name in ("Tom", "Zoé", "Léa"):
        apply(engine, world, kids[name], book(WED, world.matin), book(WED, world.repas))
    assert held(engine, world.matin, WED, world.mater) == 2  # Léa waits
    with Session(engine) as db:
        enrollment = db.exec(
            select(Enrollment).where(Enrollment.child_id == kids["Tom"], Enrollment.activity_id == world.mercredi)
        ).one()
        db.delete(enrollment)
        db.commit()
    assert held(engine, world.matin, WED, world.mater) == 1
    assert held(engine, world.repas, WED, world.mater) == 2
    assert_exact(engine)
    with Session(engine) as db:
        db.exec(sa.delete(Child).where(col(Child.id) == kids["Zoé"]))
        db.commit()
    assert held(engine, world.matin, WED, world.mater) == 0
    assert held(engine, world.repas, WED, world.mater) == 1  # Léa's
    assert_exact(engine)


def test_bulk_inserts_count_too(engine, world):
    """Rows inserted without the ORM, several per statement (the demo seed's way)."""
    kids = world.kids
    with Session(engine) as db:
        enrollments = dict(
            db.exec(select(Enrollment.child_id, Enrollment.id).where(Enrollment.activity_id == world.mercredi)).all()
        )
        rows = [
            {
                "child_id": kids[name],
                "day": day,
                "unit_id": world.matin,
                "enrollment_id": enrollments[kids[name]],
                "state": state,
                "source": Source.AGENT,
                "changed_at": NOW,
                "version": 1,
            }
            for name, state in (
                ("Tom", BookingState.RESERVED),
                ("Zoé", BookingState.PRESENT),
                ("Léa", BookingState.WAITING_LIST),
                ("Noé", BookingState.REQUESTED),
            )
            for day in (WED, NEXT_WED)
        ]
        db.exec(sa.insert(Booking), params=rows)
        db.commit()
    for day in (WED, NEXT_WED):
        assert (held(engine, world.matin, day, world.mater), held(engine, world.matin, day, world.elem)) == (2, 1)
    assert_exact(engine)
