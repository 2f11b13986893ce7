"""Goal: checking a 400-cell request (a family's term of bookings) in a few queries, p95 ≤ 100 ms.

Takes children enrolled in several activities, builds 400 cells each (the units of its
accepted activities over the coming open days, half "book", half "cancel" of what is
booked) and times :func:`check_cells`, then :func:`apply_cells` in a transaction rolled
back. On the 20,000-family town when benchmarks/out/large.db exists (``make bench``),
else on a 300-family demo town seeded in a temporary folder.
Usage: python benchmarks/booking_rules.py [sqlite-or-postgresql-url]
"""

import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import event, func
from sqlmodel import Session, col, select

from regie_tui.clock import PARIS
from regie_tui.db import make_engine, upgrade
from regie_tui.demo.seed import seed_demo_town
from regie_tui.models import Booking, Enrollment, EnrollmentStatus, Source, Unit
from regie_tui.services.bookings.cells import Action, CellRequest
from regie_tui.services.bookings.rules import apply_cells, check_cells
from regie_tui.services.common.sql import id_col

from _common import LARGE_DB, percentiles

TODAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=PARIS)
CHILDREN = 30
CELLS = 400


def town_url(folder: Path) -> str:
    if len(sys.argv) > 1:
        return sys.argv[1]
    if LARGE_DB.exists():
        return f"sqlite:///{LARGE_DB}"
    path = folder / "town.db"
    print(f"{LARGE_DB} absent: seeding a 300-family town in {path}…", flush=True)
    engine = make_engine(f"sqlite:///{path}", create=True)
    upgrade(engine)
    seed_demo_town(engine, families=300, seed=1, today=TODAY, admin_login="bench")
    engine.dispose()
    return f"sqlite:///{path}"


def requests(db: Session) -> list[tuple[int, list[CellRequest]]]:
    """(child, 400 cells) for the children with the most accepted enrolments."""
    children = db.exec(
        select(Enrollment.child_id)
        .where(Enrollment.status == EnrollmentStatus.ACCEPTED)
        .group_by(col(Enrollment.child_id))
        .order_by(func.count().desc(), col(Enrollment.child_id))
        .limit(CHILDREN)
    ).all()
    out = []
    for child_id in children:
        units = db.exec(
            select(id_col(Unit.id))
            .join(Enrollment, col(Enrollment.activity_id) == Unit.activity_id)
            .where(Enrollment.child_id == child_id, Enrollment.status == EnrollmentStatus.ACCEPTED)
        ).all()
        booked = set(
            db.exec(
                select(col(Booking.day), col(Booking.unit_id)).where(Booking.child_id == child_id, Booking.day >= TODAY)
            ).all()
        )
        cells: list[CellRequest] = []
        day = TODAY + timedelta(days=3)
        while len(cells) < CELLS and units:
            for unit_id in units:
                action: Action = "cancel" if (day, unit_id) in booked else "book"
                cells.append(CellRequest(day=day, unit_id=unit_id, action=action))
            day += timedelta(days=1)
        out.append((child_id, cells[:CELLS]))
    return out


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="regie-bench-") as folder:
        run(town_url(Path(folder)))


def run(url: str) -> None:
    engine = make_engine(url)
    statements = 0

    def count(*_args: object) -> None:
        nonlocal statements
        statements += 1

    event.listen(engine, "before_cursor_execute", count)
    check_ms: list[float] = []
    apply_ms: list[float] = []
    queries: list[int] = []
    allowed = 0
    with Session(engine) as db:
        work = requests(db)
    for child_id, cells in work:
        with Session(engine) as db:
            statements = 0
            start = time.perf_counter()
            checks = check_cells(db, child_id=child_id, cells=cells, now=NOW)
            check_ms.append((time.perf_counter() - start) * 1000)
            queries.append(statements)
            allowed += sum(c.allowed for c in checks)
        with Session(engine) as db:
            start = time.perf_counter()
            apply_cells(db, child_id=child_id, cells=cells, agent_id=None, source=Source.AGENT, now=NOW)
            apply_ms.append((time.perf_counter() - start) * 1000)
            db.rollback()
    engine.dispose()
    print(f"check_cells, {CELLS} cells: {percentiles(check_ms)}; queries per call: max {max(queries)}")
    print(f"apply_cells, {CELLS} cells (rolled back): {percentiles(apply_ms)}")
    print(f"cells allowed: {allowed} of {CELLS * len(work)}")


if __name__ == "__main__":
    main()
