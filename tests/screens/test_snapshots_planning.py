"""Snapshots of the planning at 80×24: week view, month view (seven activities), the legend."""

from datetime import date

import pytest

from regie_tui import clock
from regie_tui.models import Role
from regie_tui.screens.planning.screen import PlanningScreen

from booking_world import NOW
from helpers import TODAY
from pilot import settle

ROGER = 4  # the seeded town's child with the most activities (périscolaire, mercredi, five ALSH)


@pytest.fixture
def frozen_clock(monkeypatch):
    """Cells near today depend on the time of day (notice deadlines): pin it."""
    monkeypatch.setattr(clock, "now", lambda: NOW)


def open_at(day: date, *keys: str):
    async def run_before(pilot):
        await settle(pilot)
        pilot.app.push_screen(PlanningScreen(ROGER, day))
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    return run_before


@pytest.mark.parametrize("_seeded_town", ["sqlite"], indirect=True)
def test_week(snap_compare, make_app, frozen_clock):
    assert snap_compare(make_app(Role.ACCUEIL), terminal_size=(80, 24), run_before=open_at(TODAY, "right", "right"))


@pytest.mark.parametrize("_seeded_town", ["sqlite"], indirect=True)
def test_month(snap_compare, make_app, frozen_clock):
    assert snap_compare(
        make_app(Role.ACCUEIL), terminal_size=(80, 24), run_before=open_at(TODAY, "v", "pagedown", "down")
    )


@pytest.mark.parametrize("_seeded_town", ["sqlite"], indirect=True)
def test_legend(snap_compare, make_app, frozen_clock):
    assert snap_compare(make_app(Role.ACCUEIL), terminal_size=(80, 24), run_before=open_at(TODAY, "l"))
