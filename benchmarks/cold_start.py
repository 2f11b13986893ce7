"""Goal: cold start to the first screen ≤ 1 s on the 20,000-family town.

Starts a fresh Python process that builds the app exactly as `regie` does (the
dashboard first, then the database opened in a worker: schema check, agent, counters)
and reports when the dashboard is painted and when its counters are in.
Usage: python benchmarks/cold_start.py [url] [runs]
"""

import statistics
import subprocess
import sys
import time

from _common import large_town_url

CHILD = r"""
import asyncio, sys, time
start = float(sys.argv[3])
from regie_tui.app import RegieApp, create_app

# The app starts opening the database right after its first refresh: that moment is
# the first screen on the terminal. (Pilot.pause would also wait for the worker.)
painted = []
open_database = RegieApp._open_database
def first_paint_seen(self):
    painted.append(time.time() - start)
    return open_database(self)
RegieApp._open_database = first_paint_seen
# The bench town's administrator at the keyboard (the OS account or PostgreSQL role otherwise).
from regie_tui.services.trust import identity
identity.connected_identity = lambda connection: identity.Connected(login=sys.argv[2], owner=False)

async def run():
    app = create_app(database_url=sys.argv[1])
    async with app.run_test(size=(80, 24)) as pilot:
        while not painted:
            await asyncio.sleep(0.005)
        counter = app.screen.query_one("#pending-changes")
        while counter.value == "…":
            await asyncio.sleep(0.005)
        # Displayed: the screen has been refreshed with the counters in.
        refreshed = asyncio.Event()
        app.call_after_refresh(refreshed.set)
        await refreshed.wait()
        counted = time.time() - start
        # Ready: connected, and no work left (pause waits for the app to be idle).
        while not app.connected:
            await asyncio.sleep(0.005)
        await pilot.pause()
        ready = time.time() - start
        print(f"{painted[0]:.3f} {counted:.3f} {ready:.3f}")

asyncio.run(run())
"""


def admin_login(url: str) -> str:
    from sqlmodel import Session, col, select

    from regie_tui.db import open_database
    from regie_tui.models import Agent

    engine = open_database(url)
    with Session(engine) as session:
        login = session.exec(select(Agent.login).order_by(col(Agent.id))).first()
    engine.dispose()
    assert login is not None, "the town has an agent"
    return login


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else large_town_url()
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    login = admin_login(url)
    painted, counted, ready = [], [], []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", CHILD, url, login, repr(time.time())], check=True, capture_output=True, text=True
        ).stdout.split()
        painted.append(float(out[0]))
        counted.append(float(out[1]))
        ready.append(float(out[2]))
    for label, times, goal in (
        ("dashboard painted: ", painted, " (goal ≤ 1 s)"),
        ("counters displayed:", counted, " (goal ≤ 0.5 s)"),
        ("connected and idle:", ready, ""),
    ):
        print(f"process start → {label} median {statistics.median(times):.2f} s, worst {max(times):.2f} s{goal}")


if __name__ == "__main__":
    main()
