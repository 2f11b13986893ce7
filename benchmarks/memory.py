"""Goal: peak memory ≤ 250 MB while an agent works on the 20,000-family town.

In a fresh process: start the app, browse the dashboard, search and page through the
family list, open twenty family files and all their tabs; then report the peak RSS.
Usage: python benchmarks/memory.py [url]
"""

import subprocess
import sys

from _common import large_town_url

CHILD = r"""
import asyncio, resource, sys
from sqlmodel import Session, select
from regie_tui.app import create_app
from regie_tui.db import open_database
from regie_tui.models import Agent, Family
from regie_tui.services.trust.agents import resolve_agent

engine = open_database(sys.argv[1])
with Session(engine) as session:
    agent = resolve_agent(session, session.exec(select(Agent.login).order_by(Agent.id)).first())
    family_ids = session.exec(select(Family.id).order_by(Family.id).limit(20)).all()

async def run():
    app = create_app(engine=engine, agent=agent)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.press("f2")
        await app.workers.wait_for_complete()
        for _ in range(300):  # page down through the list: several pages load
            await pilot.press("down")
        await app.workers.wait_for_complete()
        await pilot.press(*"mar")
        await app.workers.wait_for_complete()
        for family_id in family_ids:
            app.open_family(family_id)
            await pilot.pause()
            await app.workers.wait_for_complete()
            for tab in "123456":
                await pilot.press(tab)
            await pilot.press("escape")
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)

asyncio.run(run())
"""


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else large_town_url()
    peak_mb = float(
        subprocess.run([sys.executable, "-c", CHILD, url], check=True, capture_output=True, text=True).stdout.split()[
            -1
        ]
    )
    print(f"peak RSS of the app process: {peak_mb:.0f} MB (goal ≤ 250 MB)")


if __name__ == "__main__":
    main()
