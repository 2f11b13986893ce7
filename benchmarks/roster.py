"""Goal on the 20,000-family town: a 400-child roster opens (``roster()``) in ≤ 150 ms.

Prints p50/p95 of ``roster()`` for the busiest activity-day (most bookings; in the large
town every activity-day has thousands of children, far beyond one facility's 400), then
for a 400-child roster: the same day with all but 400 children's bookings deleted inside a
transaction that is rolled back (the database is left as it was).
Usage: python benchmarks/roster.py [sqlite-url]
"""

import sys
import time

from sqlalchemy import delete, func
from sqlalchemy import select as sa_select  # sqlmodel's select() takes no subquery
from sqlmodel import Session, col, select

from regie_tui.db import make_engine
from regie_tui.models import Booking, Role, Unit
from regie_tui.services.bookings.attendance import ROSTER_STATES, roster
from regie_tui.services.trust.agents import AgentInfo

from _common import large_town_url, percentiles

BENCH_AGENT = AgentInfo(id=1, login="bench", display_name="Banc d'essai", role=Role.ADMIN)

RUNS = 15


def timed(session: Session, activity_id: int, day) -> tuple[int, str]:
    samples = []
    children = 0
    for _ in range(RUNS):
        start = time.perf_counter()
        sheet = roster(session, activity_id=activity_id, day=day, agent=BENCH_AGENT)
        samples.append((time.perf_counter() - start) * 1000)
        children = len({line.child_id for line in sheet.lines})
    return children, percentiles(samples)


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else large_town_url()
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            activity_id, day, count = session.exec(
                select(col(Unit.activity_id), col(Booking.day), func.count())
                .join(Unit, col(Unit.id) == Booking.unit_id)
                .where(col(Booking.state).in_(ROSTER_STATES))
                .group_by(col(Unit.activity_id), col(Booking.day))
                .order_by(func.count().desc())
                .limit(1)
            ).one()
            children, figures = timed(session, activity_id, day)
            print(f"Busiest activity-day: activity {activity_id} on {day}, {count} bookings, {children} children")
            print(f"roster(): {figures}")

            units = select(Unit.id).where(Unit.activity_id == activity_id)
            kept = (
                select(Booking.child_id)
                .where(col(Booking.unit_id).in_(units), Booking.day == day)
                .distinct()
                .order_by(col(Booking.child_id))
                .limit(400)
                .subquery()
            )
            session.exec(
                delete(Booking).where(
                    col(Booking.unit_id).in_(units),
                    col(Booking.day) == day,
                    col(Booking.child_id).not_in(sa_select(kept)),
                )
            )
            children, figures = timed(session, activity_id, day)
            print(f"Same day thinned to {children} children (rolled back): roster(): {figures}")
            session.rollback()
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
