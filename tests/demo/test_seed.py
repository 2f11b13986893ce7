"""The demo town: deterministic, consistent, and with work waiting in the bannette,
come in through the portal import as in production.

Runs on SQLite and PostgreSQL: ``town_url`` is the shared seeded town
(``seed_demo_town(families=12, seed=7, today=TODAY, admin_login="agent.test")``),
``db_url`` a fresh empty database to seed again.
"""

import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, SQLModel, col, select

from regie_tui.clock import PARIS
from regie_tui.db import make_engine
from regie_tui.demo.seed import PORTAL_FILENAME, seed_demo_town
from regie_tui.errors import RegieError
from regie_tui.models import (
    Activity,
    Allocation,
    AuditEntry,
    Booking,
    ChargeKind,
    Child,
    Document,
    Enrollment,
    Family,
    Guardian,
    Invoice,
    InvoiceLine,
    Mandate,
    MandateSequence,
    Message,
    NumberSequence,
    Payment,
    PortalImport,
    PortalLogin,
    Submission,
)
from regie_tui.services.billing.run_items import week_of
from regie_tui.services.bookings.calendar import school_year
from regie_tui.services.portal.pending import pending_counts

from helpers import ADMIN_LOGIN, TODAY, TOWN_FAMILIES, TOWN_SEED, get_row, table_of

DUMPED_MODELS: list[type[SQLModel]] = [
    Family,
    Guardian,
    Child,
    Enrollment,
    Booking,
    Invoice,
    InvoiceLine,
    Payment,
    Allocation,
    Document,
    Message,
    PortalLogin,
    Submission,
    PortalImport,
    AuditEntry,
    NumberSequence,
]
SEED_NOW = datetime.combine(TODAY, time(7, 30), PARIS)  # the seed's "now": every line was sent before
BOOKING_INDEXES = {"ix_booking_unit_day", "ix_booking_enrollment_id", "ix_booking_requested"}


@pytest.fixture
def town(town_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(town_url)
    yield engine
    engine.dispose()


def _all(engine: sa.Engine, sql: str, **params) -> list[sa.Row[*tuple[Any, ...]]]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text(sql), params))


def _day(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _dump(engine: sa.Engine) -> dict[str, list[dict[str, Any]]]:
    """Rows as the ORM reads them: comparable from one engine to the other."""
    with Session(engine) as session:
        return {
            table_of(model).name: [
                row.model_dump() for row in session.exec(select(model).order_by(*table_of(model).primary_key.columns))
            ]
            for model in DUMPED_MODELS
        }


def _seed_town(engine: sa.Engine, seed: int = TOWN_SEED):
    return seed_demo_town(engine, families=TOWN_FAMILIES, seed=seed, today=TODAY, admin_login=ADMIN_LOGIN)


def test_same_seed_gives_the_same_town_ids_included(town, engine):
    """Whatever the two engines: the same seed gives the same rows."""
    summary = _seed_town(engine)
    assert _dump(engine) == _dump(town)
    assert summary.families == TOWN_FAMILIES
    assert summary.bookings == _all(engine, "SELECT count(*) FROM booking")[0][0]
    assert summary.lines()[0] == f"Familles : {TOWN_FAMILIES}"
    assert any(line.startswith("Réservations : ") for line in summary.lines())
    with Session(engine) as session:
        pending = pending_counts(session)
    assert (
        summary.pending_changes,
        summary.pending_documents,
        summary.enrollment_requests,
        summary.booking_requests,
        summary.pending_messages,
        summary.pending_payments,
    ) == (
        pending.changes,
        pending.documents,
        pending.enrollment_requests,
        pending.booking_requests,
        pending.messages,
        pending.payments,
    )
    assert f"Documents à valider : {pending.documents}" in summary.lines()
    assert summary.portal_lines == _all(engine, "SELECT count(*) FROM submission")[0][0]


def test_another_seed_gives_another_town(town, engine):
    _seed_town(engine, seed=TOWN_SEED + 1)
    other, ours = _dump(engine), _dump(town)
    assert other["family"] != ours["family"]
    assert other["booking"] != ours["booking"]


def test_a_large_town_generated_in_a_second_process_is_the_same(town, engine, monkeypatch):
    from regie_tui.demo import seed as demo

    monkeypatch.setattr(demo, "PARALLEL_FROM_FAMILIES", 1)
    _seed_town(engine)
    assert _dump(engine) == _dump(town)


def test_every_family_has_exactly_one_payer(town):
    rows = _all(
        town,
        "SELECT f.id, count(g.id) FROM family f LEFT JOIN guardian g "
        "ON g.family_id = f.id AND g.is_payer GROUP BY f.id",
    )
    assert len(rows) == TOWN_FAMILIES
    assert all(payers == 1 for _, payers in rows)


def test_bookings_fall_on_opening_days_of_their_activity(town):
    periods = defaultdict(list)
    for activity_id, start, end, weekdays in _all(
        town, "SELECT activity_id, start_date, end_date, weekdays FROM activity_period"
    ):
        periods[activity_id].append((_day(start), _day(end), weekdays))
    public_holidays = {_day(d) for (d,) in _all(town, "SELECT day FROM day_off WHERE kind = 'public_holiday'")}
    closures = {(a, _day(d)) for a, d in _all(town, "SELECT activity_id, day FROM closure")}
    out_of_order = _all(
        town,
        """SELECT count(*) FROM booking a JOIN booking b ON b.id = a.id + 1
        WHERE (b.child_id, b.day, b.unit_id) <= (a.child_id, a.day, a.unit_id)""",
    )
    assert out_of_order[0][0] == 0  # stored in the order a child's planning reads them
    cells = _all(town, "SELECT DISTINCT u.activity_id, b.day FROM booking b JOIN unit u ON u.id = b.unit_id")
    assert cells
    for activity_id, day in cells:
        day = _day(day)
        assert any(s <= day <= e and str(day.isoweekday()) in w for s, e, w in periods[activity_id]), day
        assert day not in public_holidays
        assert (activity_id, day) not in closures


def test_children_are_in_the_age_group_of_their_activity(town):
    rows = _all(
        town,
        """
        SELECT c.birth_date, a.start_date, g.min_age, g.max_age, g.activity_id, e.activity_id
        FROM enrollment e JOIN child c ON c.id = e.child_id JOIN activity a ON a.id = e.activity_id
        JOIN age_group g ON g.id = e.age_group_id""",
    )
    assert rows
    for birth, start, min_age, max_age, group_activity, activity in rows:
        birth, start = _day(birth), _day(start)
        age = start.year - birth.year - ((start.month, start.day) < (birth.month, birth.day))
        assert group_activity == activity
        assert min_age <= age <= max_age
    # every booking belongs to an accepted enrollment of the same child in the unit's activity
    assert (
        _all(
            town,
            """
        SELECT count(*) FROM booking b JOIN enrollment e ON e.id = b.enrollment_id JOIN unit u ON u.id = b.unit_id
        WHERE e.child_id <> b.child_id OR e.activity_id <> u.activity_id OR e.status <> 'accepted'""",
        )[0][0]
        == 0
    )


def test_attendance_before_today_and_bookings_from_today(town):
    before = {s for (s,) in _all(town, "SELECT DISTINCT state FROM booking WHERE day < :d", d=TODAY)}
    after = {s for (s,) in _all(town, "SELECT DISTINCT state FROM booking WHERE day >= :d", d=TODAY)}
    assert before <= {"present", "present_special", "absent_justified", "absent_unjustified"}
    assert {"present", "absent_justified"} <= before
    assert after <= {"reserved", "waiting_list", "refused"}  # requests are portal lines, not cells
    assert "reserved" in after


def test_invoices_are_numbered_without_gaps_and_add_up(town):
    numbers = defaultdict(list)
    for number, period_start in _all(town, "SELECT number, period_start FROM invoice ORDER BY id"):
        prefix, sequence = number[:-5], int(number[-5:])
        assert prefix.endswith(f"-F{_day(period_start):%y%m}")
        numbers[prefix].append(sequence)
    assert {p.split("-")[0] for p in numbers} == {"pop", "alsh"}
    assert {p[-4:] for p in numbers} == {"2609", "2610"}  # September and October, billed before 23 November
    sequences = dict(_all(town, "SELECT series, last_value FROM number_sequence"))
    for prefix, values in numbers.items():
        assert values == list(range(1, len(values) + 1))
        assert sequences[f"invoice:{prefix}"] == len(values)
    assert (
        _all(
            town,
            """
        SELECT count(*) FROM invoice i WHERE i.total_cents <> (SELECT sum(amount_cents) FROM invoice_line
        WHERE invoice_id = i.id)""",
        )[0][0]
        == 0
    )
    with Session(town) as session:
        lines = session.exec(select(InvoiceLine)).all()
    assert lines and all(line.amount_cents == line.quantity * line.unit_price_cents for line in lines)
    for line in lines:
        days = [int(d) for d in line.dates.split(", ")]
        if line.kind == ChargeKind.PACKAGE:  # one package per week with a day billed
            invoice_month = _day(_all(town, f"SELECT period_start FROM invoice WHERE id = {line.invoice_id}")[0][0])
            weeks = {week_of(invoice_month.replace(day=d)) for d in days}
            assert line.quantity == len(weeks)
        else:
            assert len(days) == line.quantity
    assert {line.kind for line in lines} >= {ChargeKind.SERVICE, ChargeKind.PACKAGE, ChargeKind.UNBOOKED_SURCHARGE}


def test_payments_never_exceed_what_is_due(town):
    overpaid = _all(
        town,
        """
        SELECT i.number FROM invoice i
        WHERE (SELECT coalesce(sum(amount_cents), 0) FROM allocation WHERE invoice_id = i.id)
            + (SELECT coalesce(sum(amount_cents), 0) FROM credit_note WHERE invoice_id = i.id) > i.total_cents""",
    )
    assert overpaid == []
    assert _all(town, "SELECT count(*) FROM payment WHERE received_on >= :d", d=TODAY)[0][0] == 0
    assert (
        _all(
            town,
            """SELECT count(*) FROM payment p WHERE amount_cents <> (SELECT sum(amount_cents)
        FROM allocation WHERE payment_id = p.id)""",
        )[0][0]
        == 0
    )
    receipts = [(n, _day(d)) for n, d in _all(town, "SELECT receipt_number, received_on FROM payment ORDER BY id")]
    for (number, day), (next_number, next_day) in zip(receipts, receipts[1:], strict=False):
        if number[:-5] == next_number[:-5]:  # same series: numbered in order of receipt
            assert int(next_number[-5:]) == int(number[-5:]) + 1 and next_day >= day


def test_mandates_carry_valid_french_ibans_and_the_sequence_of_their_next_debit(town):
    with Session(town) as session:
        mandates = session.exec(select(Mandate)).all()
    assert len(mandates) >= 2
    assert {m.next_sequence for m in mandates} == {MandateSequence.FIRST, MandateSequence.RECURRENT}
    for mandate in mandates:
        iban = mandate.iban
        assert iban.startswith("FR") and len(iban) == 27
        assert int("".join(str(int(c, 36)) for c in iban[4:] + iban[:4])) % 97 == 1
        assert len(mandate.rum) <= 35 and mandate.rum.endswith(f"-{mandate.family_id:07d}-1")
        used = mandate.last_used_on is not None
        assert mandate.next_sequence == (MandateSequence.RECURRENT if used else MandateSequence.FIRST)


def test_the_bannette_has_work_of_every_kind_all_come_through_the_portal_import(town):
    with Session(town) as session:
        pending = pending_counts(session)
        submissions = session.exec(select(Submission).order_by(col(Submission.id))).all()
        imports = session.exec(select(PortalImport)).all()
    assert all(n > 0 for _, n in pending.labelled()), pending
    kinds = Counter((s.kind.value, s.status.value) for s in submissions)
    for kind in ("change", "new_child", "enrolment", "booking", "document", "message", "payment"):
        assert kinds[(kind, "pending")] > 0, kind
    assert kinds[("login", "recorded")] > 0 and kinds[("payment", "recorded")] > 0  # a refused online payment
    # One import of the whole file, at the seed's "now", nothing refused.
    assert [(i.filename, i.read, i.stored, i.known, i.rejected) for i in imports] == [
        (PORTAL_FILENAME, len(submissions), len(submissions), 0, 0)
    ]
    assert imports[0].imported_at == SEED_NOW
    assert {s.received_at for s in submissions} == {SEED_NOW}
    assert all(SEED_NOW - timedelta(days=21) < s.submitted_at < SEED_NOW for s in submissions)
    # Nothing waits outside the bannette's submissions: no row the import did not write.
    waiting = _all(
        town,
        """SELECT
        (SELECT count(*) FROM document WHERE status = 'pending'),
        (SELECT count(*) FROM document d JOIN submission s ON s.document_id = d.id WHERE d.status = 'pending'),
        (SELECT count(*) FROM message WHERE direction = 'incoming' AND read_at IS NULL),
        (SELECT count(*) FROM message m JOIN submission s ON s.message_id = m.id WHERE m.read_at IS NULL),
        (SELECT count(*) FROM enrollment WHERE status = 'requested'),
        (SELECT count(*) FROM booking WHERE state = 'requested')""",
    )[0]
    assert waiting == (pending.documents, pending.documents, pending.messages, pending.messages, 0, 0)


def test_portal_lines_are_valid_requests_of_the_family_that_sent_them(town):
    accounts = dict(_all(town, "SELECT family_id, email FROM portal_account WHERE activated_at IS NOT NULL"))
    accepted_units = defaultdict(set)
    for child_id, unit_id in _all(
        town,
        "SELECT e.child_id, u.id FROM enrollment e JOIN unit u ON u.activity_id = e.activity_id "
        "WHERE e.status = 'accepted'",
    ):
        accepted_units[child_id].add(unit_id)
    due = {
        number: (family_id, total - paid - credited)
        for number, family_id, total, paid, credited in _all(
            town,
            """SELECT i.number, i.family_id, i.total_cents,
            (SELECT coalesce(sum(amount_cents), 0) FROM allocation WHERE invoice_id = i.id),
            (SELECT coalesce(sum(amount_cents), 0) FROM credit_note WHERE invoice_id = i.id) FROM invoice i""",
        )
    }
    with Session(town) as session:
        submissions = session.exec(select(Submission).order_by(col(Submission.id))).all()
    cancelled_today = False
    for s in submissions:
        assert s.account == accounts[s.family_id]  # the family's own, activated portal account
        if s.kind == "booking":
            assert all(cell["unit"] in accepted_units[s.payload["child"]] for cell in s.payload["cells"])
            assert all(date.fromisoformat(cell["day"]) >= TODAY for cell in s.payload["cells"])
            cancelled_today |= any(
                c["day"] == TODAY.isoformat() and c["action"] == "cancel" for c in s.payload["cells"]
            )
        elif s.kind == "payment":
            assert due[s.payload["invoice"]] == (s.family_id, s.payload["amount_cents"])  # in full, never partly
    assert cancelled_today  # past the notice deadline: the bannette has a refusal to show


def test_the_portal_file_is_kept_and_importing_it_again_changes_nothing(engine):
    from regie_tui.services.portal.intake.run import import_submissions

    summary = _seed_town(engine)
    path = Path(summary.portal_file)
    assert path.name.endswith(PORTAL_FILENAME)
    data = path.read_bytes()
    lines = [json.loads(line) for line in data.decode("utf-8").splitlines()]
    assert [line["id"] for line in lines] == [f"p-{TOWN_SEED}-{n}" for n in range(1, len(lines) + 1)]
    assert [line["submitted_at"] for line in lines] == sorted(line["submitted_at"] for line in lines)
    assert summary.portal_lines == len(lines)
    before = _dump(engine)
    with Session(engine) as session:
        again = import_submissions(session, data=data, filename=path.name, agent=None, now=SEED_NOW)
        session.rollback()
    assert (again.read, again.stored, again.known, again.rejected) == (len(lines), 0, len(lines), [])
    assert _dump(engine) == before


def test_a_refused_portal_line_is_a_demo_bug_and_leaves_nothing(engine, monkeypatch):
    from regie_tui.demo import families as demo_families

    written = demo_families.FamilyGenerator.portal_file

    def with_a_bad_line(self):
        bad = {
            "id": "p-bad",
            "kind": "login",
            "family": 1,
            "account": "personne@example.org",
            "submitted_at": "2026-11-20T10:00:00+01:00",
        }
        return written(self) + (json.dumps(bad) + "\n").encode()

    monkeypatch.setattr(demo_families.FamilyGenerator, "portal_file", with_a_bad_line)
    with pytest.raises(RuntimeError, match="ligne\\(s\\) du portail refusée"):
        seed_demo_town(engine, families=3, seed=1, today=TODAY, admin_login=ADMIN_LOGIN)
    for table in ("family", "submission", "portal_import", "booking"):
        assert _all(engine, f"SELECT count(*) FROM {table}")[0][0] == 0


def test_search_finds_names_whatever_the_accents(town):
    from regie_tui.services.families.search import search_families

    guardians = _all(town, "SELECT family_id, first_name, last_name, email FROM guardian")
    assert any(not n.isascii() for _, first, last, _ in guardians for n in (first, last))
    with Session(town) as session:
        for family_id, first_name, last_name, email in guardians:
            typed = f"{first_name.upper()} {last_name.lower()}"  # as an agent might type it
            assert family_id in [r.id for r in search_families(session, typed).rows], typed
            assert family_id in [r.id for r in search_families(session, email).rows], email
        family_id, number = _all(town, "SELECT family_id, number FROM invoice ORDER BY id")[0]
        assert [r.id for r in search_families(session, number).rows] == [family_id]
    words = _all(town, "SELECT word FROM family_search_word")
    assert all(word.isascii() and word == word.lower() for (word,) in words)


def test_rows_read_back_through_the_orm(town):
    with Session(town) as session:
        booking = session.get(Booking, 1)
        assert booking is not None
        assert isinstance(booking.day, date) and booking.changed_at.utcoffset() == timedelta(0)
        assert booking.version == 1
        assert isinstance(get_row(session, InvoiceLine, 1).quantity, Decimal)
        activity = session.exec(select(Activity).where(Activity.name == "Mercredi")).one()
        assert activity.notice_time == time(12, 0) and activity.notice_business_days
        entry = session.exec(select(AuditEntry).where(AuditEntry.family_id == 1).order_by(col(AuditEntry.id))).first()
        assert entry is not None
        assert entry.after is not None
        assert entry.action == "create" and entry.after["name"]
        assert entry.at < datetime.combine(TODAY, time(8), UTC)


def test_calendar_of_the_town_has_real_holidays(town):
    days_off = {_day(d): name for d, name in _all(town, "SELECT day, name FROM day_off")}
    assert days_off[date(2026, 11, 11)] == "Armistice"
    assert days_off[date(2026, 10, 20)] == "Vacances de la Toussaint"
    assert days_off[date(2027, 5, 7)] == "Pont de l'Ascension"
    year = school_year(2026, "B")
    assert year.terms[0].start == date(2026, 9, 1) and year.terms[-1].end == date(2027, 7, 2)
    names = {n for (n,) in _all(town, "SELECT name FROM activity WHERE kind = 'holidays'")}
    assert {"ALSH vacances de la Toussaint 2026", "ALSH vacances d'été 2027"} <= names


def test_the_base_is_consistent(town):
    with town.connect() as conn:
        if conn.dialect.name == "sqlite":  # loaded without row-by-row checks: check it all now
            raw = conn.connection.driver_connection
            assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]  # CHECK constraints included
            assert raw.execute("PRAGMA foreign_key_check").fetchall() == []
            assert raw.execute("PRAGMA foreign_keys").fetchone() == (1,)
        else:  # foreign keys were added back, hence validated, at the end of the load
            constraints = conn.execute(
                sa.text("SELECT count(*) FROM pg_constraint WHERE conrelid = 'booking'::regclass AND contype = 'f'")
            ).scalar_one()
            assert constraints == 4


def test_seeding_twice_is_refused_and_changes_nothing(town):
    before = _dump(town)
    with pytest.raises(RegieError, match=f"^La base contient déjà des familles : {TOWN_FAMILIES}"):
        seed_demo_town(town, families=5, seed=1, today=TODAY, admin_login=ADMIN_LOGIN)
    assert _dump(town) == before


def test_a_failed_seed_leaves_nothing(engine, monkeypatch):
    from regie_tui.demo import families as demo_families

    def fail(self):
        raise RuntimeError("panne au milieu du chargement")

    monkeypatch.setattr(demo_families.FamilyGenerator, "deferred_rows", fail)
    with pytest.raises(RuntimeError):
        seed_demo_town(engine, families=3, seed=1, today=TODAY, admin_login=ADMIN_LOGIN)
    for table in ("town", "agent", "family", "booking", "activity"):
        assert _all(engine, f"SELECT count(*) FROM {table}")[0][0] == 0
    assert set(ix["name"] for ix in sa.inspect(engine).get_indexes("booking")) >= BOOKING_INDEXES
    assert len(sa.inspect(engine).get_foreign_keys("booking")) == 4
