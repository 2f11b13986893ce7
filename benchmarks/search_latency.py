"""Goal: search keystroke → results on screen, p95 ≤ 30 ms on the 20,000-family town.

Types names letter by letter into the Familles screen (headless, 80×24) and times each
keystroke until the new results are in the table; also times the SQL search alone.
Usage: python benchmarks/search_latency.py [sqlite-or-postgresql-url]
"""

import asyncio
import sys
import time

from sqlmodel import Session, col, select
from textual.widgets import Input

from regie_tui.app import create_app
from regie_tui.db import open_database
from regie_tui.models import Agent, Family, Guardian
from regie_tui.services.families.search import search_families
from regie_tui.services.families.search_words import fold
from regie_tui.services.trust.agents import resolve_agent
from regie_tui.widgets.family_list import FamilyList

from _common import large_town_url, percentiles

WORDS = 40  # how many names to type
TYPING_INTERVAL = 0.12  # seconds between two keystrokes (about 8 per second)


def sample_queries(engine) -> list[str]:
    with Session(engine) as session:
        names = session.exec(select(Family.name).order_by(col(Family.id)).limit(WORDS // 2)).all()
        firsts = session.exec(select(Guardian.first_name).order_by(col(Guardian.id).desc()).limit(WORDS // 2)).all()
    return [fold(n).split()[0] for n in (*names, *firsts)] + ["0612", "pop-f26"]


async def time_keystrokes(engine, agent, queries: list[str]) -> list[float]:
    """Each letter goes to the search field as a keystroke does (Input inserts it and
    posts Changed); the time runs until the new results are in the list and the screen
    is painted. Letters come every TYPING_INTERVAL, a fast typist's pace. (Pilot.press is
    not used for the timing: it also waits for the whole app to go idle.)"""
    app = create_app(engine=engine, agent=agent)
    samples: list[float] = []
    shown = asyncio.Event()
    show = FamilyList.show

    def show_and_signal(family_list, rows):
        show(family_list, rows)
        shown.set()

    FamilyList.show = show_and_signal  # type: ignore[method-assign]  # timed: signals each list shown
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f2")
        await app.workers.wait_for_complete()
        await pilot.pause()
        field = app.screen.query_one("#family-search", Input)
        for query in queries:
            for letter in query:
                shown.clear()
                start = time.perf_counter()
                field.insert_text_at_cursor(letter)
                await shown.wait()
                await pilot.pause(0)  # the screen processes the new rows and paints them
                elapsed = time.perf_counter() - start
                samples.append(elapsed * 1000)
                await asyncio.sleep(max(0.0, TYPING_INTERVAL - elapsed))
            shown.clear()
            field.clear()
            await shown.wait()
    FamilyList.show = show  # type: ignore[method-assign]  # the real one back
    return samples


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else large_town_url()
    engine = open_database(url)
    with Session(engine) as session:
        login = session.exec(select(Agent.login).order_by(col(Agent.id))).first()
        assert login is not None, "the town has an agent"
        agent = resolve_agent(session, login)
    queries = sample_queries(engine)
    sql_samples = []
    with Session(engine) as session:
        for query in queries:
            for end in range(1, len(query) + 1):
                start = time.perf_counter()
                search_families(session, query[:end])
                sql_samples.append((time.perf_counter() - start) * 1000)
    print(f"search service (SQL + page of 50): {percentiles(sql_samples)}")
    screen_samples = asyncio.run(time_keystrokes(engine, agent, queries))
    print(f"keystroke → results on screen:     {percentiles(screen_samples)}  (goal p95 ≤ 30 ms)")


if __name__ == "__main__":
    main()
