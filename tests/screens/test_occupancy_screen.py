"""Occupation: the agent opens an activity's month, moves month by month and sees a full day marked."""

from datetime import date

import pytest
from sqlmodel import Session, select

from regie_tui.app import create_app
from regie_tui.db import make_engine
from regie_tui.models import (
    Activity,
    AgeGroup,
    BookingState,
    Unit,
)
from regie_tui.screens.dialogs import PickOne
from regie_tui.screens.occupancy import OccupancyScreen
from regie_tui.services.common.sql import id_col
from regie_tui.services.trust.agents import resolve_agent

from builders import LUCIOLES_FULL_WED, add_lucioles
from helpers import ADMIN_LOGIN, TODAY
from pilot import screen_text, settle

FULL_WED = LUCIOLES_FULL_WED
NAME = "Mercredis Lucioles"


@pytest.fixture
def lucioles(fresh_town_url):
    """The test town plus 'Mercredis Lucioles' (Matin; Maternelle 2 places, full on 9 December with one
    child waiting; Élémentaire unlimited); the app on it and the activity's id."""
    engine = make_engine(fresh_town_url)
    with Session(engine) as db:
        activity_id = add_lucioles(db, second_state=BookingState.REQUESTED)
        db.commit()
        agent = resolve_agent(db, ADMIN_LOGIN)
    app = create_app(engine=engine, agent=agent, today=TODAY)
    yield app, activity_id
    engine.dispose()


def row_of(text: str, day: str) -> str:
    return next(line for line in text.splitlines() if day in line)


async def test_open_move_month_and_see_the_full_day(lucioles):
    app, activity_id = lucioles
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.push_screen(OccupancyScreen(activity_id))
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, OccupancyScreen)
        text = screen_text(app)
        assert f"{NAME} — novembre 2026" in text  # today's month
        assert "Groupes, dans l'ordre : Maternelle · Élémentaire" in text
        assert "Pas d'accueil le lundi" in row_of(text, "lun 02/11")  # the reason in the places' column
        assert "Dimanche 1 novembre : fermé — Jour férié : Toussaint" in text

        await pilot.press("pagedown")
        await settle(pilot)
        text = screen_text(app)
        assert f"{NAME} — décembre 2026" in text
        full = row_of(text, "mer 09/12")
        assert "■" in full and "■2/2 · 0/∞" in full and "Matin" in full and "+1" in full
        assert "■" not in row_of(text, "mer 02/12") and " 0/2 · 0/∞" in row_of(text, "mer 02/12")
        assert "1 j. complet(s) ■ · 1 en attente" in text
        assert "Taux d'occupation" not in text and "Places réservées (plus haut : 2)" in text
        await pilot.press(*["down"] * 8)  # the cursor on 9 December: the status line says it in words
        await settle(pilot)
        status = " ".join(screen_text(app).split())  # the status lines, as one
        assert (
            "Mercredi 9 décembre, Matin : Maternelle 2/2 complet +1 en attente, Élémentaire 0 (sans limite)" in status
        )
        assert screen.shown is not None
        day = next(d for d in screen.shown.days if d.day == FULL_WED)
        mater = day.units[0].groups[0]
        assert (mater.booked, mater.capacity, mater.waiting, mater.full) == (2, 2, 1, True)

        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert f"{NAME} — janvier 2027" in screen_text(app)
        await pilot.press("t")
        await settle(pilot)
        assert screen.month == date(2026, 11, 1)
        await pilot.press("pageup")
        await settle(pilot)
        assert f"{NAME} — octobre 2026" in screen_text(app)
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert f"{NAME} — septembre 2026" in screen_text(app)
        await pilot.press("left", "right")  # the table's now: the month stays
        await settle(pilot)
        assert screen.month == date(2026, 9, 1)


async def test_three_units_of_five_groups_fit_80_columns(fresh_town_url):
    """The seeded Mercredi (Matin, Repas, Après-midi × five age groups): one row per day × unit,
    each unit's last group visible at 80 columns, two status lines for the cursor's row."""
    engine = make_engine(fresh_town_url)
    with Session(engine) as db:
        mercredi = db.exec(select(id_col(Activity.id)).where(Activity.name == "Mercredi")).one()
        units = db.exec(select(Unit.name).where(Unit.activity_id == mercredi)).all()
        groups = db.exec(select(AgeGroup.name).where(AgeGroup.activity_id == mercredi)).all()
        agent = resolve_agent(db, ADMIN_LOGIN)
    assert len(units) == 3 and len(groups) == 5
    app = create_app(engine=engine, agent=agent, today=TODAY)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            app.push_screen(OccupancyScreen(mercredi, date(2026, 12, 1)))
            await settle(pilot)
            await pilot.press("down")  # 1 December is closed (a Tuesday): the cursor on 2 December, first unit
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, OccupancyScreen) and screen.shown is not None
            day = next(d for d in screen.shown.days if d.day == date(2026, 12, 2))
            text = screen_text(app)
            rows = [line for line in text.splitlines() if "mer 02/12" in line]
            assert len(rows) == 3
            for row, unit in zip(rows, day.units, strict=True):
                assert screen.shown.unit(unit.unit_id).name in row
                last = unit.groups[-1]
                assert f"{last.booked}/{last.capacity}" in row  # the fifth group shows
            first = day.units[0]
            named = ", ".join(
                f"{screen.shown.group(g.group_id).name} {g.booked}/{g.capacity}" for g in first.groups[:2]
            )
            status = " ".join(text.split())  # the two status lines, as one
            assert f"Mercredi 2 décembre, {screen.shown.unit(first.unit_id).name} : {named}" in status
            assert f"Toute la journée : {day.booked} place(s) réservée(s)" in status
    finally:
        engine.dispose()


async def test_choose_the_activity_first(lucioles):
    app, activity_id = lucioles
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.push_screen(OccupancyScreen(month=date(2026, 12, 1)))
        await settle(pilot)
        assert isinstance(app.screen, PickOne)
        options = dict(app.screen.options)
        assert options[str(activity_id)] == NAME
        names = [label for _, label in app.screen.options]
        # by start date: the school year's activities (1 September), this one (2 September), then holidays
        assert names.index(NAME) > names.index("Mercredi")
        assert names.index(NAME) < names.index("ALSH vacances de la Toussaint 2026")
        app.screen.dismiss(str(activity_id))
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, OccupancyScreen)
        assert "■2/2 · 0/∞" in row_of(screen_text(app), "mer 09/12")
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, OccupancyScreen)


@pytest.mark.parametrize("_seeded_town", ["sqlite"], indirect=True)
@pytest.mark.parametrize("size", [pytest.param((80, 24), id="80x24"), pytest.param((140, 40), id="140x40")])
def test_snapshot(snap_compare, make_app, size):
    """The seeded town's first activity in December 2026."""

    async def open_month(pilot):
        await settle(pilot)
        pilot.app.push_screen(OccupancyScreen(1, date(2026, 12, 1)))
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=size, run_before=open_month)
