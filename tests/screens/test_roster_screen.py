"""Pointage: the agent opens the roster, marks present / justified / unjustified, reads it back."""

import pytest
from sqlmodel import Session, select

from regie_tui.db import make_engine
from regie_tui.models import Booking, BookingState, Child, Role, Unit
from regie_tui.screens.roster import RosterScreen

from helpers import TODAY
from pilot import screen_text, settle

PERI = 1  # Périscolaire Jules Ferry: Acc matin (Mace Marguerite, Robin Alix, Robin Aurélie), Acc soir


async def open_roster(pilot, **kwargs) -> RosterScreen:
    await settle(pilot)
    pilot.app.push_screen(RosterScreen(**kwargs))
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, RosterScreen)
    return screen


def states(url: str) -> dict[str, BookingState]:
    engine = make_engine(url)
    try:
        with Session(engine) as db:
            rows = db.exec(
                select(Child.first_name, Booking.state)
                .join(Child, Child.id == Booking.child_id)
                .join(Unit, Unit.id == Booking.unit_id)
                .where(Unit.activity_id == PERI, Unit.name == "Acc matin", Booking.day == TODAY)
            ).all()
    finally:
        engine.dispose()
    return dict(rows)


async def test_mark_present_justified_unjustified(make_fresh_app, fresh_town_url):
    app = make_fresh_app(Role.ACCUEIL)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_roster(pilot, activity_id=PERI, day=TODAY)
        text = screen_text(app)
        assert "lundi 23 novembre 2026 · Périscolaire Jules Ferry" in text
        assert "Mace Marguerite" in text and "· à pointer" in text
        assert screen.current().child_name == "Mace Marguerite"
        for key in ("p", "j", "n"):
            await pilot.press(key)
            await settle(pilot)
        assert states(fresh_town_url) == {
            "Marguerite": BookingState.PRESENT,
            "Alix": BookingState.ABSENT_JUSTIFIED,
            "Aurélie": BookingState.ABSENT_UNJUSTIFIED,
        }
        text = screen_text(app)
        assert "✓ présent" in text and "J abs. justifiée" in text and "N abs. non just." in text
        assert "Acc matin : 3 rés. · 1 prés. · 1 abs. J · 1 abs. NJ · 0 à pointer" in text
        # the cursor went down a line per mark, past the unit's title, to the next unit's first child
        assert screen.current().unit_id != screen.rows[1].unit_id


async def test_future_day_is_refused_and_days_move(make_fresh_app, fresh_town_url):
    app = make_fresh_app(Role.ACCUEIL)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_roster(pilot, activity_id=PERI, day=TODAY)
        await pilot.press("right")
        await settle(pilot)
        assert screen.day.isoformat() == "2026-11-24"
        assert "mardi 24 novembre 2026" in screen_text(app)
        await pilot.press("p")
        await settle(pilot)
        assert any("pas encore arrivé" in str(n.message) for n in app._notifications)
        assert BookingState.PRESENT not in states(fresh_town_url).values()
        await pilot.press("t")
        await settle(pilot)
        assert screen.day == TODAY


async def test_walk_in_added_as_presence_speciale(make_fresh_app, fresh_town_url):
    app = make_fresh_app(Role.ACCUEIL)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_roster(pilot, activity_id=PERI, day=TODAY)
        await pilot.press("plus")
        await settle(pilot)
        await pilot.press(*"agathe", "enter")
        await settle(pilot)
        await pilot.press("enter")  # the one child found; she has one free unit: no question
        await settle(pilot)
        assert states(fresh_town_url)["Agathe"] == BookingState.PRESENT_SPECIAL
        assert "+ prés. spéciale" in screen_text(app)


@pytest.mark.parametrize("_seeded_town", ["sqlite"], indirect=True)
def test_snapshot(snap_compare, make_app):
    async def run_before(pilot):
        await settle(pilot)
        pilot.app.push_screen(RosterScreen(activity_id=PERI, day=TODAY))
        await settle(pilot)

    assert snap_compare(make_app(Role.ACCUEIL), terminal_size=(80, 24), run_before=run_before)
