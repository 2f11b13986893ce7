"""The schema itself refuses bad data, whatever code writes it (both engines).

Rows are written with SQLAlchemy Core (or raw SQL) so that no Python-side validation
stands between the test and the database: only the constraints answer.
Each refusal is checked to come from the expected constraint, and each test also
writes the nearest valid row, to show the constraint is no wider than meant.
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

from regie_tui.db import SQLITE_BUSY_TIMEOUT_MS, make_engine
from regie_tui.models import (
    Activity,
    AgeGroup,
    AuthorizedPerson,
    Booking,
    Capacity,
    Child,
    Enrollment,
    Facility,
    Family,
    Guardian,
    Invoice,
    Payment,
    QfBracket,
    Rate,
    Regie,
    Unit,
)

from helpers import table_of

NOW = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
DAY = date(2026, 11, 24)


def insert(conn: Connection, model: type[SQLModel], **values: object) -> int:
    """Insert one row with Core (column defaults apply) and return its primary key."""
    key = conn.execute(sa.insert(table_of(model)).values(**values)).inserted_primary_key
    assert key is not None
    new_id: int = key[0]
    return new_id


def assert_refused(engine: Engine, write: Callable[[Connection], object], *, constraint: str, sqlite: str) -> None:
    """``write`` fails with an IntegrityError raised by ``constraint``, and writes nothing.

    PostgreSQL names the violated constraint; SQLite says it in its message
    (the CHECK's name, or the columns of a UNIQUE index, or just 'FOREIGN KEY').
    """
    with pytest.raises(IntegrityError) as caught, engine.begin() as conn:
        write(conn)
    if engine.dialect.name == "postgresql":
        assert isinstance(caught.value.orig, psycopg.Error)  # the driver's error, with its diagnostics
        assert caught.value.orig.diag.constraint_name == constraint
    else:
        assert sqlite in str(caught.value.orig), str(caught.value.orig)


@dataclass
class Base:
    """Ids of a minimal town: a régie, an activity with a unit and a group, a family, a child."""

    regie: int
    activity: int
    unit: int
    age_group: int
    family: int
    child: int
    enrollment: int
    bracket: int


@pytest.fixture
def base(engine: Engine) -> Base:
    with engine.begin() as conn:
        regie = insert(conn, Regie, code="ENF", name="Régie enfance", invoice_prefix="ENF")
        facility = insert(conn, Facility, name="ALSH Les Tilleuls", kind="leisure_centre")
        activity = insert(
            conn,
            Activity,
            regie_id=regie,
            facility_id=facility,
            name="Mercredis 2026-2027",
            kind="wednesday",
            start_date=date(2026, 9, 2),
            end_date=date(2027, 7, 3),
        )
        unit = insert(conn, Unit, activity_id=activity, name="Matin", start_time=time(7, 30), end_time=time(12, 0))
        age_group = insert(conn, AgeGroup, activity_id=activity, name="Maternelle", min_age=3, max_age=5)
        family = insert(conn, Family, name="Martin", name_key="martin")
        child = insert(
            conn,
            Child,
            family_id=family,
            last_name="Martin",
            first_name="Léa",
            birth_date=date(2021, 3, 14),
            sex="F",
        )
        enrollment = insert(
            conn,
            Enrollment,
            child_id=child,
            activity_id=activity,
            age_group_id=age_group,
            status="accepted",
            source="agent",
            requested_at=NOW,
        )
        bracket = insert(conn, QfBracket, name="Tranche 1", min_qf=0, max_qf=600)
    return Base(regie, activity, unit, age_group, family, child, enrollment, bracket)


def booking_values(base: Base, **overrides: object) -> dict[str, object]:
    values: dict[str, object] = dict(
        child_id=base.child,
        day=DAY,
        unit_id=base.unit,
        enrollment_id=base.enrollment,
        state="reserved",
        source="agent",
        changed_at=NOW,
    )
    values.update(overrides)
    return values


def test_one_payer_per_family(engine: Engine, base: Base) -> None:
    guardian = dict(family_id=base.family, last_name="Martin", relationship="mère")
    with engine.begin() as conn:
        insert(conn, Guardian, first_name="Claire", is_payer=True, **guardian)
        insert(conn, Guardian, first_name="Paul", is_payer=False, **guardian)
        insert(conn, Guardian, first_name="Jeanne", is_payer=False, **guardian)  # the index is partial
        other = insert(conn, Family, name="Durand", name_key="durand")
        insert(
            conn, Guardian, family_id=other, last_name="Durand", first_name="Luc", relationship="père", is_payer=True
        )

    assert_refused(
        engine,
        lambda conn: insert(conn, Guardian, first_name="Marc", is_payer=True, **guardian),
        constraint="uq_guardian_one_payer",
        sqlite="UNIQUE constraint failed: guardian.family_id",
    )


def test_one_booking_per_child_day_and_unit(engine: Engine, base: Base) -> None:
    with engine.begin() as conn:
        insert(conn, Booking, **booking_values(base))
        insert(conn, Booking, **booking_values(base, day=date(2026, 11, 25)))

    assert_refused(
        engine,
        lambda conn: insert(conn, Booking, **booking_values(base, state="present")),
        constraint="uq_booking_child_id_day_unit_id",
        sqlite="UNIQUE constraint failed: booking.child_id, booking.day, booking.unit_id",
    )


def test_booking_state_unknown_to_the_schema(engine: Engine, base: Base) -> None:
    sql = sa.text(
        "INSERT INTO booking (child_id, day, unit_id, enrollment_id, state, source, changed_at, version) "
        "VALUES (:child, :day, :unit, :enrollment, :state, 'agent', :at, 1)"
    )
    params = dict(child=base.child, day=DAY, unit=base.unit, enrollment=base.enrollment, at=NOW)
    with engine.begin() as conn:
        conn.execute(sql, {**params, "state": "present"})

    assert_refused(
        engine,
        lambda conn: conn.execute(sql, {**params, "day": date(2026, 11, 25), "state": "cancelled"}),
        constraint="ck_booking_booking_state",
        sqlite="CHECK constraint failed: ck_booking_booking_state",
    )


def test_rate_amount_cannot_be_negative(engine: Engine, base: Base) -> None:
    rate = dict(unit_id=base.unit, bracket_id=base.bracket)
    with engine.begin() as conn:
        insert(conn, Rate, valid_from=date(2026, 9, 1), amount_cents=0, **rate)  # free is allowed

    assert_refused(
        engine,
        lambda conn: insert(conn, Rate, valid_from=date(2027, 1, 1), amount_cents=-150, **rate),
        constraint="ck_rate_amount_positive",
        sqlite="CHECK constraint failed: ck_rate_amount_positive",
    )


def test_cash_payment_limited_to_300_euros(engine: Engine, base: Base) -> None:
    payment = dict(family_id=base.family, regie_id=base.regie, received_on=date(2026, 11, 23))
    with engine.begin() as conn:
        insert(conn, Payment, receipt_number="R-1", mode="cash", amount_cents=30_000, **payment)
        insert(conn, Payment, receipt_number="R-2", mode="cheque", amount_cents=45_000, **payment)

    assert_refused(
        engine,
        lambda conn: insert(conn, Payment, receipt_number="R-3", mode="cash", amount_cents=30_001, **payment),
        constraint="ck_payment_cash_limit",
        sqlite="CHECK constraint failed: ck_payment_cash_limit",
    )


def test_invoice_numbers_are_unique(engine: Engine, base: Base) -> None:
    invoice = dict(
        regie_id=base.regie,
        family_id=base.family,
        period_start=date(2026, 10, 1),
        period_end=date(2026, 10, 31),
        issue_date=date(2026, 11, 5),
        due_date=date(2026, 11, 30),
        total_cents=4_250,
        status="issued",
        debtor_name="Claire Martin",
        debtor_address="1 rue des Lilas",
    )
    with engine.begin() as conn:
        insert(conn, Invoice, number="ENF-F2610-0001", **invoice)

    assert_refused(
        engine,
        lambda conn: insert(conn, Invoice, number="ENF-F2610-0001", **invoice),
        constraint="uq_invoice_number",
        sqlite="UNIQUE constraint failed: invoice.number",
    )


def test_activity_cannot_end_before_it_starts(engine: Engine, base: Base) -> None:
    with engine.connect() as conn:
        facility = conn.execute(sa.select(table_of(Facility).c.id)).scalar_one()
    activity = dict(regie_id=base.regie, facility_id=facility, kind="holidays", start_date=date(2027, 2, 8))
    with engine.begin() as conn:
        insert(conn, Activity, name="Vacances d'hiver", end_date=date(2027, 2, 8), **activity)  # one day

    assert_refused(
        engine,
        lambda conn: insert(conn, Activity, name="Vacances de printemps", end_date=date(2027, 2, 7), **activity),
        constraint="ck_activity_date_range",
        sqlite="CHECK constraint failed: ck_activity_date_range",
    )


def test_foreign_keys_are_enforced(engine: Engine, base: Base) -> None:
    """On SQLite this proves PRAGMA foreign_keys=ON is set on every connection."""
    assert_refused(
        engine,
        lambda conn: insert(conn, Booking, **booking_values(base, child_id=base.child + 1000)),
        constraint="fk_booking_child_id_child",
        sqlite="FOREIGN KEY constraint failed",
    )


def test_deleting_a_child_cascades_to_its_bookings(engine: Engine, base: Base) -> None:
    with engine.begin() as conn:
        insert(conn, Booking, **booking_values(base))
        conn.execute(sa.delete(table_of(Child)).where(table_of(Child).c.id == base.child))
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(table_of(Booking))).scalar_one() == 0


def test_authorized_person_must_collect_or_be_called(engine: Engine, base: Base) -> None:
    person = dict(family_id=base.family, last_name="Bernard", first_name="Anne", phone="0612345678")
    with engine.begin() as conn:
        insert(conn, AuthorizedPerson, may_collect=False, emergency_contact=True, **person)
        insert(conn, AuthorizedPerson, may_collect=True, emergency_contact=False, **person)

    assert_refused(
        engine,
        lambda conn: insert(conn, AuthorizedPerson, may_collect=False, emergency_contact=False, **person),
        constraint="ck_authorized_person_has_a_purpose",
        sqlite="CHECK constraint failed: ck_authorized_person_has_a_purpose",
    )


def test_one_default_capacity_per_group_and_unit(engine: Engine, base: Base) -> None:
    capacity = dict(age_group_id=base.age_group, unit_id=base.unit)
    with engine.begin() as conn:
        insert(conn, Capacity, day=None, places=24, **capacity)
        insert(conn, Capacity, day=DAY, places=12, **capacity)  # one day's override beside it
        insert(conn, Capacity, day=date(2026, 11, 25), places=16, **capacity)

    assert_refused(
        engine,
        lambda conn: insert(conn, Capacity, day=None, places=30, **capacity),
        constraint="uq_capacity_default",
        sqlite="UNIQUE constraint failed: capacity.age_group_id, capacity.unit_id",
    )
    assert_refused(
        engine,
        lambda conn: insert(conn, Capacity, day=DAY, places=10, **capacity),
        constraint="uq_capacity_day",
        sqlite="UNIQUE constraint failed: capacity.age_group_id, capacity.unit_id, capacity.day",
    )


def test_refused_write_leaves_nothing_behind(engine: Engine, base: Base) -> None:
    """A unit of work that fails half-way is rolled back whole."""

    def write(conn: Connection) -> None:
        insert(conn, Booking, **booking_values(base))
        insert(conn, Booking, **booking_values(base))

    assert_refused(
        engine,
        write,
        constraint="uq_booking_child_id_day_unit_id",
        sqlite="UNIQUE constraint failed: booking.child_id",
    )
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(table_of(Booking))).scalar_one() == 0


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sqlite_connections_use_wal_foreign_keys_and_busy_timeout(engine: Engine) -> None:
    for _ in range(2):  # every connection of the pool, not only the first one
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == SQLITE_BUSY_TIMEOUT_MS
        engine.dispose()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_second_desk_waits_for_the_first_one_to_commit_instead_of_failing(engine: Engine) -> None:
    """Two writers on one SQLite file: the second waits (busy timeout), it is not refused."""
    other = make_engine(engine.url)
    first = engine.connect()
    first.exec_driver_sql("INSERT INTO diet (code, label) VALUES ('a', 'A')")  # holds the write lock
    outcome: list[object] = []

    def second_desk() -> None:
        try:
            with other.begin() as conn:
                conn.exec_driver_sql("INSERT INTO diet (code, label) VALUES ('b', 'B')")
            outcome.append("written")
        except Exception as exc:  # without a busy timeout: "database is locked" at once
            outcome.append(exc)

    inserting = threading.Event()  # the second desk's INSERT has begun: it is at the lock

    @sa.event.listens_for(other, "before_cursor_execute")
    def at_the_lock(_conn: Connection, _cursor: object, statement: str, *_rest: object) -> None:
        if statement.startswith("INSERT"):
            inserting.set()

    writer = threading.Thread(target=second_desk)
    writer.start()
    assert inserting.wait(timeout=60), outcome
    writer.join(timeout=0.5)  # refused, it would have ended at once
    assert writer.is_alive() and outcome == [], outcome  # still waiting for the lock, not refused
    first.commit()
    first.close()
    writer.join(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    other.dispose()
    assert outcome == ["written"]
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM diet").scalar() == 2


def test_ddl_is_rolled_back_with_its_transaction(engine) -> None:
    """A migration that fails half-way leaves no table behind, on SQLite too."""
    with pytest.raises(RuntimeError), engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE half_done (id INTEGER PRIMARY KEY)")
        raise RuntimeError("migration failed")
    assert "half_done" not in sa.inspect(engine).get_table_names()
