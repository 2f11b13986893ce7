"""Snapshots of the main screens at 80×24 and 120×40, today pinned to 2026-11-23.

Update after an intended change: pytest tests/screens/test_snapshots.py --snapshot-update
"""

import pytest

from pilot import settle

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]

# Snapshots show data, not the engine: the town on SQLite is enough (the Pilot tests run
# the same screens on both engines).
pytestmark = pytest.mark.parametrize("_seeded_town", ["sqlite"], indirect=True)


@pytest.mark.parametrize("size", SIZES)
def test_dashboard(snap_compare, make_app, size):
    assert snap_compare(make_app(), terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES)
def test_families_search(snap_compare, make_app, size):
    async def search(pilot):
        await settle(pilot)
        await pilot.press("f2")
        await settle(pilot)
        await pilot.press("m", "a")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=size, run_before=search)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("tab", ["1", "2", "4"])
def test_family_file(snap_compare, make_app, size, tab):
    async def open_file(pilot):
        await settle(pilot)
        pilot.app.open_family(1)
        await settle(pilot)
        await pilot.press(tab)
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=size, run_before=open_file)


def test_help(snap_compare, make_app):
    async def help_on_families(pilot):
        await settle(pilot)
        await pilot.press("f2")
        await settle(pilot)
        await pilot.press("f1")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=help_on_families)
