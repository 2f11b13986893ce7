"""Familles on a long list: the next page loads as the cursor goes down, never all at once."""

from sqlmodel import Session

from regie_tui.app import create_app
from regie_tui.screens.families import FamiliesScreen
from regie_tui.screens.family.screen import FamilyScreen
from regie_tui.services.trust.agents import resolve_agent

from builders import add_family
from helpers import TODAY
from pilot import settle


async def test_moving_down_loads_the_next_page_and_enter_opens_the_family(engine):
    with Session(engine) as session:
        for n in range(120):
            add_family(session, f"FAMILLE {n:03d}")
        agent = resolve_agent(session, "agent.test")
        session.commit()
    app = create_app(engine=engine, agent=agent, today=TODAY)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f2")
        await settle(pilot)
        families = app.screen
        assert isinstance(families, FamiliesScreen)
        results = families.family_list
        assert results.row_count == 50  # one page, not the whole table
        await pilot.press("down")  # from the search field to the list
        for _ in range(3):
            await pilot.press("pagedown")
            await settle(pilot)
        assert results.row_count == 100
        await pilot.press("end")
        await settle(pilot)
        await pilot.press("end")
        await settle(pilot)
        assert [r.name for r in results.rows] == [f"FAMILLE {n:03d}" for n in range(120)]
        highlighted = results.highlighted
        assert highlighted is not None and highlighted.name == "FAMILLE 119"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, FamilyScreen)
        assert app.screen.detail is not None
        assert app.screen.detail.name == "FAMILLE 119"
