"""Pointage: the agent opens the roster, marks present / justified / unjustified, reads it back."""

import pytest
from sqlmodel import Session, col, select
from textual.widgets import OptionList

from regie_tui.db import make_engine
from regie_tui.models import Booking, BookingState, Charge, Child, Role, Unit
from regie_tui.screens.dialogs import PickOne, TextPrompt
from regie_tui.screens.roster import RosterScreen

from helpers import TODAY
from pilot import screen_text, settle, shows, until

PERI = 1  # Périscolaire Jules Ferry: Acc matin (Mace Marguerite, Robin Alix, Robin Aurélie), Acc soir


async def open_roster(pilot, **kwargs) -> RosterScreen:
    await settle(pilot)
    pilot.app.push_screen(RosterScreen(**kwargs))
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, RosterScreen)
    if kwargs.get("activity_id") is not None:  # read once mounted, which a loaded machine may delay
        assert await until(pilot, lambda: screen.roster is not None)
        await settle(pilot)
    return screen


def states(url: str) -> dict[str, BookingState]:
    engine = make_engine(url)
    try:
        with Session(engine) as db:
            rows = db.exec(
                select(Child.first_name, col(Booking.state))
                .join(Child, col(Child.id) == Booking.child_id)
                .join(Unit, col(Unit.id) == Booking.unit_id)
                .where(Unit.activity_id == PERI, Unit.name == "Acc matin", Booking.day == TODAY)
            ).all()
    finally:
        engine.dispose()
    return dict(rows)


async def on_dialog(pilot, dialog: type[TextPrompt] | type[PickOne], title: str = "") -> None:
    """Wait for ``dialog`` (whose title starts with ``title``) to be the screen: a dialog's answer
    reaches the screen under it a few turns of the event loop later, and pilot.pause() (an idle
    process) may come before those turns on a loaded machine."""

    def ready() -> bool:
        screen, focused = pilot.app.screen, pilot.app.focused
        if not (isinstance(screen, dialog) and screen.title_text.startswith(title)):
            return False
        # Keys go to the focused widget: pressed before the dialog's field or list has the focus
        # (and a list its first option highlighted), they would be lost on a loaded machine.
        if focused is None or focused.screen is not screen:
            return False
        return not isinstance(focused, OptionList) or focused.highlighted is not None

    assert await until(pilot, ready), f"no {dialog.__name__} « {title}… » ready on screen"


async def test_mark_present_justified_unjustified(make_fresh_app, fresh_town_url):
    app = make_fresh_app(Role.ACCUEIL)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_roster(pilot, activity_id=PERI, day=TODAY)
        text = screen_text(app)
        assert "lundi 23 novembre 2026 · Périscolaire Jules Ferry" in text
        assert "Mace Marguerite" in text and "· à pointer" in text
        line = screen.current()
        assert line is not None and line.child_name == "Mace Marguerite"
        for key in ("p", "j", "n"):
            await pilot.press(key)
            await settle(pilot)
        assert await shows(pilot, "Acc matin : 3 rés. · 1 prés. · 1 abs. just. · 1 abs. non just. · 0 à pointer")
        assert states(fresh_town_url) == {
            "Marguerite": BookingState.PRESENT,
            "Alix": BookingState.ABSENT_JUSTIFIED,
            "Aurélie": BookingState.ABSENT_UNJUSTIFIED,
        }
        text = screen_text(app)
        # absences with the planning legend's glyphs: a justified, A unjustified
        assert "✓ présent" in text and "a abs. justifiée" in text and "A abs. non just." in text
        assert "Acc matin : 3 rés. · 1 prés. · 1 abs. just. · 1 abs. non just. · 0 à pointer" in text
        # the cursor went down a line per mark, past the unit's title, to the next unit's first child
        line, first = screen.current(), screen.rows[1]
        assert line is not None and first is not None and line.unit_id != first.unit_id


async def test_future_day_is_refused_and_days_move(make_fresh_app, fresh_town_url):
    app = make_fresh_app(Role.ACCUEIL)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_roster(pilot, activity_id=PERI, day=TODAY)
        await pilot.press("right")
        await settle(pilot)
        assert await shows(pilot, "mardi 24 novembre 2026")
        assert screen.day is not None
        assert screen.day.isoformat() == "2026-11-24"
        assert "mardi 24 novembre 2026" in screen_text(app)
        await pilot.press("p")
        await settle(pilot)
        assert await until(pilot, lambda: any("pas encore arrivé" in str(n.message) for n in app._notifications))
        assert BookingState.PRESENT not in states(fresh_town_url).values()
        await pilot.press("t")
        await settle(pilot)
        assert screen.day == TODAY


async def test_walk_in_added_as_presence_speciale(make_fresh_app, fresh_town_url):
    app = make_fresh_app(Role.ACCUEIL)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_roster(pilot, activity_id=PERI, day=TODAY)
        await pilot.press("plus")
        await on_dialog(pilot, TextPrompt, "Enfant venu sans réservation")
        await pilot.press(*"agathe", "enter")
        await on_dialog(pilot, PickOne, "Enfant venu sans réservation")
        await pilot.press("enter")  # the one child found; she has one free unit: no question
        # The choice reaches the roster a few turns of the event loop later, and only then starts
        # the write: settle() alone may find no worker yet. The line shows once both are done, its
        # mark whole or cut to the Pointage column's width ("+ prés. spé…", at 80 columns).
        assert await shows(pilot, "+ prés. spé"), (
            f"{type(app.screen).__name__}: {[str(n.message) for n in app._notifications]}\n{screen_text(app)}"
        )
        await settle(pilot)
        assert states(fresh_town_url)["Agathe"] == BookingState.PRESENT_SPECIAL
        assert "Langlois Agathe        Maternelle  + prés. spé" in screen_text(app)


async def test_walk_in_offers_the_cursors_unit_first(make_fresh_app, fresh_town_url):
    """Agathe, free on both units once her evening booking is gone: the cursor on Acc soir, Entrée takes it."""
    engine = make_engine(fresh_town_url)
    with Session(engine) as db:
        booking = db.exec(
            select(Booking)
            .join(Child, col(Child.id) == Booking.child_id)
            .join(Unit, col(Unit.id) == Booking.unit_id)
            .where(Child.first_name == "Agathe", Unit.activity_id == PERI, Booking.day == TODAY)
        ).one()
        for charge in db.exec(select(Charge).where(Charge.booking_id == booking.id)):
            db.delete(charge)
        db.delete(booking)
        db.commit()
    engine.dispose()
    app = make_fresh_app(Role.ACCUEIL)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_roster(pilot, activity_id=PERI, day=TODAY)
        evening = next(i for i, line in enumerate(screen.rows) if line is None and i > 0)  # Acc soir's title
        screen.table.move_cursor(row=evening + 1)
        await settle(pilot)
        await pilot.press("plus")
        await on_dialog(pilot, TextPrompt, "Enfant venu sans réservation")
        await pilot.press(*"agathe", "enter")
        await on_dialog(pilot, PickOne, "Enfant venu sans réservation")
        await pilot.press("enter")  # the one child found
        await on_dialog(pilot, PickOne, "Unité pour")
        assert isinstance(app.screen, PickOne)
        assert [label for _, label in app.screen.options] == ["Acc soir", "Acc matin"]
        await pilot.press("enter")
        assert await shows(pilot, "+ prés. spéciale")
        await settle(pilot)
        engine = make_engine(fresh_town_url)
        try:
            with Session(engine) as db:
                unit, state = db.exec(
                    select(Unit.name, Booking.state)
                    .join(Unit, col(Unit.id) == Booking.unit_id)
                    .join(Child, col(Child.id) == Booking.child_id)
                    .where(Child.first_name == "Agathe", Unit.activity_id == PERI, Booking.day == TODAY)
                ).one()
        finally:
            engine.dispose()
        assert (unit, state) == ("Acc soir", BookingState.PRESENT_SPECIAL)


async def test_activity_picker_lists_the_open_ones_first(make_fresh_app):
    """Monday 23 November: Mercredi (closed on Mondays) comes after the day's open activities, with why."""
    app = make_fresh_app(Role.ACCUEIL)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.push_screen(RosterScreen(day=TODAY))  # no activity yet: the picker opens
        await settle(pilot)
        await on_dialog(pilot, PickOne, "Activité à pointer")
        picker = app.screen
        assert isinstance(picker, PickOne)
        labels = [label for _, label in picker.options]
        assert labels[0].startswith("Périscolaire Jules Ferry — ") and "fermé" not in labels[0]
        mercredi = next(label for label in labels if label.startswith("Mercredi"))
        assert mercredi == labels[-1] and mercredi.endswith("(fermé : Pas d'accueil le lundi)")
        assert all("fermé" not in label for label in labels[:-1])


@pytest.mark.parametrize("_seeded_town", ["sqlite"], indirect=True)
def test_snapshot(snap_compare, make_app):
    async def run_before(pilot):
        await settle(pilot)
        pilot.app.push_screen(RosterScreen(activity_id=PERI, day=TODAY))
        await settle(pilot)

    assert snap_compare(make_app(Role.ACCUEIL), terminal_size=(80, 24), run_before=run_before)


async def test_marks_typed_quickly_are_all_saved(make_fresh_app, fresh_town_url):
    app = make_fresh_app(Role.ACCUEIL)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_roster(pilot, activity_id=PERI, day=TODAY)
        for _ in range(3):  # p p p, faster than each mark is written
            screen.action_mark("present")
        await settle(pilot)
        assert states(fresh_town_url) == {
            "Marguerite": BookingState.PRESENT,
            "Alix": BookingState.PRESENT,
            "Aurélie": BookingState.PRESENT,
        }


async def test_a_typed_day_opens_its_roster_and_a_bad_one_is_refused(make_fresh_app):
    app = make_fresh_app(Role.ACCUEIL)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_roster(pilot, activity_id=PERI, day=TODAY)
        await pilot.press("d")
        await on_dialog(pilot, TextPrompt, "Jour à pointer")
        await pilot.press(*["backspace"] * 10, *"20/11/2026", "enter")
        await settle(pilot)
        assert await until(pilot, lambda: screen.day is not None and screen.day.isoformat() == "2026-11-20")
        await pilot.press("d")
        await on_dialog(pilot, TextPrompt, "Jour à pointer")
        await pilot.press(*["backspace"] * 10, *"31/02/2026", "enter")
        await settle(pilot)
        refused = "n'est pas une date valide"
        assert await until(pilot, lambda: any(refused in str(n.message) for n in app._notifications))
        assert screen.day is not None
        assert screen.day.isoformat() == "2026-11-20"
