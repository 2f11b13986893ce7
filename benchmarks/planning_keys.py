"""Goal on the 20,000-family town: a key press in the planning is repainted in ≤ 16 ms.

Opens the grid of a child with the most activities, in month view, in a headless app at
80×24, and times key press → the frame written out (cursor moves, selection extended),
p50/p95. Also prints the month's load (child_grid) and, for information, an edit key
(space: the booking rules judge it in a worker) → its frame. Reads only: no copy needed.
Usage: python benchmarks/planning_keys.py [sqlite-url]
"""

import asyncio
import sys
import time

from sqlalchemy import func
from sqlmodel import Session, col, select
from textual.app import App

from regie_tui import clock
from regie_tui.app import create_app
from regie_tui.db import make_engine
from regie_tui.models import Agent, Enrollment, EnrollmentStatus, Role
from regie_tui.screens.planning.screen import PlanningScreen
from regie_tui.services.bookings.planning import View, child_grid, period_of
from regie_tui.services.trust.agents import resolve_agent

from _common import large_town_url, percentiles

MOVES = ["right"] * 12 + ["down"] * 4 + ["left"] * 12 + ["up"] * 4


def busiest_child(session: Session) -> int:
    count = func.count(col(Enrollment.id))
    child_id, _ = session.exec(
        select(Enrollment.child_id, count)
        .where(Enrollment.status == EnrollmentStatus.ACCEPTED)
        .group_by(col(Enrollment.child_id))
        .order_by(count.desc(), col(Enrollment.child_id))
        .limit(1)
    ).one()
    return child_id


async def screen(engine, agent, child_id: int) -> None:
    app = create_app(engine=engine, agent=agent)
    displayed = asyncio.Event()
    display = App._display

    def display_and_signal(app, screen, renderable):
        display(app, screen, renderable)
        displayed.set()

    App._display = display_and_signal  # type: ignore[method-assign]  # timed: signals each frame written

    async def frame_after(key: str) -> float:
        displayed.clear()
        start = time.perf_counter()
        app.simulate_key(key)
        await asyncio.wait_for(displayed.wait(), timeout=10)
        return (time.perf_counter() - start) * 1000

    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        planning = PlanningScreen(child_id, clock.today().replace(day=1))
        app.push_screen(planning)
        await asyncio.sleep(1)
        await pilot.press("v")  # Semaine → Mois
        await asyncio.sleep(1)
        grid = planning.grid
        assert grid is not None and planning.view == View.MONTH
        activities = len({row.activity_id for row in grid.rows})
        print(f"Child {child_id}: {grid.child_name}, {activities} activities, {len(grid.rows)} units, month view")
        moves = []
        for _ in range(5):
            for key in MOVES:
                moves.append(await frame_after(key))
                await asyncio.sleep(0.01)
        print(f"Cursor move → frame: {percentiles(moves)}")
        extends = []
        for _ in range(3):
            for key in (
                ["shift+right"] * 3 + ["shift+down"] * 2 + ["shift+left"] * 3 + ["shift+up"] * 2 + ["right", "left"]
            ):
                extends.append(await frame_after(key))
                await asyncio.sleep(0.01)
        print(f"Selection extended → frame: {percentiles(extends)}")


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else large_town_url()
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            login = session.exec(select(Agent.login).where(Agent.role == Role.ADMIN)).first()
            assert login is not None, "the town has an administrator"
            agent = resolve_agent(session, login)
            child_id = busiest_child(session)
            first, last = period_of(View.MONTH, clock.today())
            samples = []
            for _ in range(10):
                start = time.perf_counter()
                child_grid(session, child_id=child_id, first=first, last=last, now=clock.now())
                samples.append((time.perf_counter() - start) * 1000)
            print(f"child_grid, one month: {percentiles(samples)}")
        asyncio.run(screen(engine, agent, child_id))
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
