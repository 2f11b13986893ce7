"""Snapshots of the family forms at 80×24, today pinned to 2026-11-23.

Update after an intended change: pytest tests/screens/test_snapshots_family_form.py --snapshot-update
"""

import pytest

from pilot import settle

# Snapshots show data, not the engine: the town on SQLite is enough.
pytestmark = pytest.mark.parametrize("_seeded_town", ["sqlite"], indirect=True)


@pytest.mark.parametrize(("tab", "key"), [("1", "e"), ("1", "a"), ("2", "e")], ids=["guardian", "family", "child"])
def test_family_form(snap_compare, make_app, tab, key):
    async def open_form(pilot):
        await settle(pilot)
        pilot.app.open_family(1)
        await settle(pilot)
        await pilot.press(tab)
        await settle(pilot)
        await pilot.press(key)
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=open_form)


def test_family_form_refusal(snap_compare, make_app):
    """A value refused as typed: the French message under the field."""

    async def type_bad_phone(pilot):
        await settle(pilot)
        pilot.app.open_family(1)
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        field = pilot.app.screen.query_one("#field-mobile_phone")
        field.focus()
        field.value = "06 12"
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=type_bad_phone)
