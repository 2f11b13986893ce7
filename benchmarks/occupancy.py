"""Goal on the 20,000-family town: the occupancy month of the largest activity in ≤ 300 ms.

The largest activity is the one with most bookings, its busiest month the month with most
bookings. Read-only: works on the large town itself. Prints the first (cold) call apart,
then p50/p95 of the warm calls, and SQLite's plan of the grouped count.
Usage: python benchmarks/occupancy.py [sqlite-url]
"""

import sys
import time
from datetime import date

from sqlalchemy import String, cast, func, text
from sqlmodel import Session, col, select

from regie_tui.db import make_engine
from regie_tui.models import Booking, Unit
from regie_tui.services.bookings.occupancy import month_label, occupancy_month

from _common import large_town_url, percentiles

RUNS = 20
GOAL_MS = 300


def busiest(session: Session) -> tuple[int, date]:
    """(activity id, first day of its month) with the most bookings."""
    activity_id = session.exec(
        select(Unit.activity_id)
        .join(Booking, col(Booking.unit_id) == Unit.id)
        .group_by(col(Unit.activity_id))
        .order_by(func.count().desc())
    ).first()
    assert activity_id is not None, "no booking in this town"
    unit_ids = session.exec(select(Unit.id).where(Unit.activity_id == activity_id)).all()
    month = func.substr(cast(col(Booking.day), String), 1, 7)  # 'YYYY-MM'
    best = session.exec(
        select(month, func.count())
        .where(col(Booking.unit_id).in_(unit_ids))
        .group_by(month)
        .order_by(func.count().desc())
    ).first()
    assert best is not None
    year, number = (int(part) for part in str(best[0]).split("-"))
    return activity_id, date(year, number, 1)


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else large_town_url()
    engine = make_engine(url)
    with Session(engine) as session:
        started = time.perf_counter()
        activity_id, month = busiest(session)
        found = time.perf_counter() - started
        print(f"Largest activity: n° {activity_id}, busiest month {month_label(month)} ({found:.1f} s to find)")
    samples = []
    for run in range(RUNS + 1):
        with Session(engine) as session:  # a new session each time, as each screen read
            start = time.perf_counter()
            result = occupancy_month(session, activity_id=activity_id, month=month)
            elapsed = (time.perf_counter() - start) * 1000
        if run == 0:
            held = sum(d.booked for d in result.days)
            waiting = sum(d.waiting for d in result.days)
            print(
                f"{result.activity.name}: {len(result.units)} unit(s) × {len(result.groups)} group(s), "
                f"{len(result.open_days)} open days, {held} places held, {waiting} waiting"
            )
            print(f"first call (cold): {elapsed:.1f} ms")
        else:
            samples.append(elapsed)
    print(f"occupancy_month: {percentiles(samples)} (goal ≤ {GOAL_MS} ms)")
    if engine.dialect.name == "sqlite":
        unit_ids = ",".join(str(u.id) for u in result.units)
        last = result.days[-1].day
        with engine.connect() as conn:
            plan = conn.execute(
                text(
                    "EXPLAIN QUERY PLAN SELECT unit_id, day, state, count(*) FROM booking "
                    f"WHERE unit_id IN ({unit_ids}) AND day >= :first AND day <= :last GROUP BY unit_id, day, state"
                ),
                {"first": month, "last": last},
            ).all()
        print("plan of the booking count:")
        for row in plan:
            print(f"  {row[-1]}")
    engine.dispose()


if __name__ == "__main__":
    main()
