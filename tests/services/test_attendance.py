"""Pointage: the roster of an activity on a day, and marking who came, through the booking rules."""

from datetime import date, datetime

from sqlmodel import Session, col, select

from regie_tui.clock import PARIS
from regie_tui.db import make_engine
from regie_tui.models import Booking, BookingState, Child, Role, Unit
from regie_tui.services.bookings.attendance import HEALTH_HIDDEN, activities_on, mark, roster, walk_in_candidates
from regie_tui.services.common.sql import id_col
from regie_tui.services.trust.agents import AgentInfo, resolve_agent

from helpers import TODAY

#: The seeded town's administrator (reads health notes).
ADMIN = AgentInfo(id=1, login="agent.test", display_name="agent.test", role=Role.ADMIN)

PERI = 1  # Périscolaire Jules Ferry in the seeded town: Acc matin, Acc soir
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=PARIS)


def child_id(db: Session, first: str, last: str) -> int:
    return db.exec(select(id_col(Child.id)).where(Child.first_name == first, Child.last_name == last)).one()


def unit_id(db: Session, name: str) -> int:
    return db.exec(select(id_col(Unit.id)).where(Unit.activity_id == PERI, Unit.name == name)).one()


def stored(db: Session, child: int, unit: int, day: date = TODAY) -> BookingState | None:
    return db.exec(
        select(col(Booking.state)).where(Booking.child_id == child, Booking.unit_id == unit, Booking.day == day)
    ).first()


def test_roster_per_unit_and_group_with_alerts_and_collectors(town_url):
    engine = make_engine(town_url)
    try:
        with Session(engine) as db:
            sheet = roster(db, activity_id=PERI, day=TODAY, agent=ADMIN)
            booked = db.exec(
                select(Booking.unit_id, Booking.child_id)
                .join(Unit)
                .where(Unit.activity_id == PERI, Booking.day == TODAY)
            ).all()
    finally:
        engine.dispose()
    assert (sheet.activity_name, sheet.facility_name, sheet.closed_reason) == (
        "Périscolaire Jules Ferry",
        "Groupe scolaire Jules Ferry",
        "",
    )
    assert [(u.name, u.hours) for u in sheet.units] == [("Acc matin", "07:00-09:00"), ("Acc soir", "16:30-19:00")]
    assert sorted((line.unit_id, line.child_id) for line in sheet.lines) == sorted(booked)
    matin, soir = sheet.units
    assert [g.name for g in matin.groups] == ["Maternelle", "Élémentaire"]
    assert [line.child_name for line in matin.lines] == ["Mace Marguerite", "Robin Alix", "Robin Aurélie"]
    assert matin.totals.booked == 3 and matin.totals.not_pointed == 3 and matin.totals.present == 0
    assert soir.totals.booked == 4
    aurelie = matin.lines[2]
    assert aurelie.health == ("autre : Appareil dentaire à retirer pendant le repas",)
    assert aurelie.collectors == ("Gilles Robin (père)", "Adèle Diallo (mère)", "Daniel Dupont (parrain)")
    assert all(line.state == BookingState.RESERVED for line in sheet.lines)


def test_health_notes_hidden_from_a_regisseur(town_url):
    engine = make_engine(town_url)
    try:
        with Session(engine) as db:
            regisseur = resolve_agent(db, "jbernard")
            sheet = roster(db, activity_id=PERI, day=TODAY, agent=regisseur)
    finally:
        engine.dispose()
    by_name = {line.child_name: line for line in sheet.lines}
    assert by_name["Robin Aurélie"].health == (HEALTH_HIDDEN,)
    assert by_name["Langlois Agathe"].health == (HEALTH_HIDDEN,)
    assert by_name["Mace Marguerite"].health == ()
    assert not any("Appareil" in text or "Épilepsie" in text for line in sheet.lines for text in line.health)


def test_activities_of_the_day(town_url):
    engine = make_engine(town_url)
    try:
        with Session(engine) as db:
            names = [a.name for a in activities_on(db, day=TODAY)]
    finally:
        engine.dispose()
    assert "Périscolaire Jules Ferry" in names
    assert "ALSH vacances de la Toussaint 2026" not in names  # over by then


def test_marking_through_the_rules(fresh_town_url):
    engine = make_engine(fresh_town_url)
    try:
        with Session(engine) as db:
            accueil = resolve_agent(db, "smoreau")
            regisseur = resolve_agent(db, "jbernard")
            marguerite, alix = child_id(db, "Marguerite", "Mace"), child_id(db, "Alix", "Robin")
            matin = unit_id(db, "Acc matin")
            check = mark(
                db, child_id=marguerite, day=TODAY, unit_id=matin, state=BookingState.PRESENT, agent=accueil, now=NOW
            )
            assert check.allowed and check.state == BookingState.PRESENT
            check = mark(
                db, child_id=alix, day=TODAY, unit_id=matin, state=BookingState.ABSENT_JUSTIFIED, agent=accueil, now=NOW
            )
            assert check.allowed
            db.commit()
            # today's attendance may be corrected
            check = mark(
                db,
                child_id=alix,
                day=TODAY,
                unit_id=matin,
                state=BookingState.ABSENT_UNJUSTIFIED,
                agent=accueil,
                now=NOW,
            )
            assert check.allowed
            db.commit()
            assert stored(db, marguerite, matin) == BookingState.PRESENT
            assert stored(db, alix, matin) == BookingState.ABSENT_UNJUSTIFIED
            totals = roster(db, activity_id=PERI, day=TODAY, agent=ADMIN).units[0].totals
            assert (totals.booked, totals.present, totals.absent_unjustified, totals.not_pointed) == (3, 1, 1, 1)

            # tomorrow cannot be pointed
            tomorrow = date(2026, 11, 24)
            booked_tomorrow = db.exec(
                select(Booking.child_id).where(Booking.unit_id == matin, Booking.day == tomorrow)
            ).first()
            assert booked_tomorrow is not None
            check = mark(
                db,
                child_id=booked_tomorrow,
                day=tomorrow,
                unit_id=matin,
                state=BookingState.PRESENT,
                agent=accueil,
                now=NOW,
            )
            assert not check.allowed and "pas encore arrivé" in check.rule

            # an older recorded attendance: locked for the desk, open to the régisseur with a reason
            old = date(2026, 11, 17)
            pointed = db.exec(
                select(Booking.child_id).where(
                    Booking.unit_id == matin, Booking.day == old, Booking.state == BookingState.PRESENT
                )
            ).first()
            assert pointed is not None
            check = mark(
                db,
                child_id=pointed,
                day=old,
                unit_id=matin,
                state=BookingState.ABSENT_JUSTIFIED,
                agent=accueil,
                now=NOW,
            )
            assert not check.allowed and "verrouillée" in check.rule
            check = mark(
                db,
                child_id=pointed,
                day=old,
                unit_id=matin,
                state=BookingState.ABSENT_JUSTIFIED,
                agent=regisseur,
                now=NOW,
                reason="Certificat médical apporté",
            )
            assert check.allowed
            db.commit()
            assert stored(db, pointed, matin, old) == BookingState.ABSENT_JUSTIFIED
    finally:
        engine.dispose()


def test_walk_in_is_a_presence_speciale(fresh_town_url):
    engine = make_engine(fresh_town_url)
    try:
        with Session(engine) as db:
            accueil = resolve_agent(db, "smoreau")
            matin = unit_id(db, "Acc matin")
            found = walk_in_candidates(db, activity_id=PERI, day=TODAY, text="langlois aga")
            assert [(w.first_name, w.last_name, w.free_units) for w in found] == [
                ("Agathe", "Langlois", ((matin, "Acc matin"),))
            ]
            assert walk_in_candidates(db, activity_id=PERI, day=TODAY, text="mace") == []  # booked on both units
            agathe = found[0].child_id
            check = mark(
                db, child_id=agathe, day=TODAY, unit_id=matin, state=BookingState.PRESENT, agent=accueil, now=NOW
            )
            assert check.allowed and check.state == BookingState.PRESENT_SPECIAL
            db.commit()
            # no absence without a booking
            other = walk_in_candidates(db, activity_id=PERI, day=TODAY, text="aurelie")[0]
            check = mark(
                db,
                child_id=other.child_id,
                day=TODAY,
                unit_id=other.free_units[0][0],
                state=BookingState.ABSENT_JUSTIFIED,
                agent=accueil,
                now=NOW,
            )
            assert not check.allowed and "pas réservé" in check.rule
            sheet = roster(db, activity_id=PERI, day=TODAY, agent=ADMIN)
    finally:
        engine.dispose()
    unit = sheet.units[0]
    assert ("Langlois Agathe", BookingState.PRESENT_SPECIAL) in [(line.child_name, line.state) for line in unit.lines]
    assert (unit.totals.booked, unit.totals.present, unit.totals.special) == (3, 1, 1)
