"""Goals: a child's month grid opens ≤ 50 ms; saving a month of edits ≤ 100 ms.

On the 20,000-family town (benchmarks/out/large.db, ``make bench``; its schema is brought
up to date first), takes the children with the most accepted enrolments and times:

- :func:`planning.child_grid` over December (the month view: every cell's appearance and
  explanation, the rules judged for each cell alone);
- :func:`planning.save_edits` of a month of edits (every bookable free cell booked, every
  booked cell freed, up to the month's cells) in a transaction rolled back.

Usage: python benchmarks/planning.py [sqlite-or-postgresql-url]
"""

import sys
import time
from datetime import date, datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from regie_tui.clock import PARIS
from regie_tui.db import make_engine, upgrade
from regie_tui.models import Enrollment, EnrollmentStatus, Role
from regie_tui.services.bookings.cells import CellRequest
from regie_tui.services.bookings.planning import Appearance, View, child_grid, period_of, save_edits
from regie_tui.services.trust.agents import AgentInfo

from _common import LARGE_DB, percentiles

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=PARIS)
MONTH = period_of(View.MONTH, date(2026, 12, 1))
CHILDREN = 20


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else f"sqlite:///{LARGE_DB}"
    engine = make_engine(url)
    upgrade(engine)
    agent = AgentInfo(id=1, login="bench", display_name="Banc d'essai", role=Role.ADMIN)
    with Session(engine) as db:
        children = db.exec(
            select(Enrollment.child_id)
            .where(Enrollment.status == EnrollmentStatus.ACCEPTED)
            .group_by(col(Enrollment.child_id))
            .order_by(func.count().desc(), col(Enrollment.child_id))
            .limit(CHILDREN)
        ).all()
    open_ms: list[float] = []
    save_ms: list[float] = []
    sizes: list[tuple[int, int, int]] = []
    for child_id in children:
        with Session(engine) as db:
            started = time.perf_counter()
            grid = child_grid(db, child_id=child_id, first=MONTH[0], last=MONTH[1], now=NOW)
            open_ms.append((time.perf_counter() - started) * 1000)
        edits = []
        for (day, unit_id), cell in grid.cells.items():
            if cell.appearance == Appearance.FREE:
                edits.append(CellRequest(day, unit_id, "book"))
            elif cell.appearance == Appearance.PRESENCE:
                edits.append(CellRequest(day, unit_id, "cancel"))
        loaded = {(e.day, e.unit_id): grid.cell(e.day, e.unit_id).stamp for e in edits}
        with Session(engine) as db:
            started = time.perf_counter()
            save_edits(db, child_id=child_id, edits=edits, loaded=loaded, agent=agent, now=NOW)
            db.flush()
            save_ms.append((time.perf_counter() - started) * 1000)
            db.rollback()
        sizes.append((len(grid.rows), len(grid.cells), len(edits)))
    rows = max(s[0] for s in sizes)
    print(f"children: {len(children)}; rows per grid up to {rows}; cells per month up to {max(s[1] for s in sizes)}")
    print(f"month grid opens (child_grid, December): {percentiles(open_ms)}")
    print(f"save a month of edits (up to {max(s[2] for s in sizes)} cells, rolled back): {percentiles(save_ms)}")


if __name__ == "__main__":
    main()
