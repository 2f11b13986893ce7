"""Goal: cold start to the first screen ≤ 1 s on the 20,000-family town.

Starts a fresh Python process that builds the app exactly as `regie` does (schema check,
agent, dashboard) and reports when the dashboard is painted and when its counters are in.
Usage: python benchmarks/cold_start.py [url] [runs]
"""

import statistics
import subprocess
import sys
import time

from _common import large_town_url

CHILD = r"""
import asyncio, sys, time
start = float(sys.argv[2])
from sqlmodel import Session, select
from regie_tui.app import create_app
from regie_tui.db import open_database
from regie_tui.models import Agent
from regie_tui.services.agents import resolve_agent

engine = open_database(sys.argv[1])
with Session(engine) as session:
    agent = resolve_agent(session, session.exec(select(Agent.login).order_by(Agent.id)).first())

async def run():
    app = create_app(engine=engine, agent=agent)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        painted = time.time() - start
        await app.workers.wait_for_complete()
        await pilot.pause()
        counted = time.time() - start
        print(f"{painted:.3f} {counted:.3f}")

asyncio.run(run())
"""


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else large_town_url()
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    painted, counted = [], []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", CHILD, url, repr(time.time())],
                             check=True, capture_output=True, text=True).stdout.split()
        painted.append(float(out[0]))
        counted.append(float(out[1]))
    print(f"process start → dashboard painted:  median {statistics.median(painted):.2f} s, worst {max(painted):.2f} s (goal ≤ 1 s)")
    print(f"process start → counters displayed: median {statistics.median(counted):.2f} s, worst {max(counted):.2f} s")


if __name__ == "__main__":
    main()
