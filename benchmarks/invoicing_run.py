"""Goal on the 20,000-family town: the invoicing run of one month of the largest service in ≤ 30 s
(moonshot 10 s), with a peak memory ≤ 500 MB.

The largest service is pop (périscolaire, restauration, mercredis). Its month is the first
one the seed has not billed (November 2026), billed as on its last day (every booking of
the month, 30 November). The run writes: it works on a copy of the large town, issues the
month (committed), prints the time of each step, the invoices, lines and charges written,
and the peak memory of this process, then runs it again (nothing left to bill).
Usage: python benchmarks/invoicing_run.py [path of the large town's SQLite file]
"""

import resource
import shutil
import sys
import time
from datetime import date
from pathlib import Path

from sqlmodel import Session, func, select

from regie_tui.db import make_engine
from regie_tui.models import Charge, InvoiceLine
from regie_tui.services.billing.invoicing import bill_month

from _common import LARGE_DB, large_town_url

MONTH = date(2026, 11, 1)
BILLED_AS_OF = date(2026, 11, 30)
GOAL_S, MOONSHOT_S, MEMORY_GOAL_MIB = 30, 10, 500


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else LARGE_DB
    large_town_url(source)
    copy = source.with_name("large-invoicing.db")
    for stale in (copy, copy.with_name(copy.name + "-wal"), copy.with_name(copy.name + "-shm")):
        stale.unlink(missing_ok=True)
    shutil.copyfile(source, copy)
    engine = make_engine(f"sqlite:///{copy}")
    try:
        for attempt in ("premier lancement", "second lancement"):
            steps: list[tuple[str, float]] = []
            started = time.perf_counter()

            def progress(_done: int, _total: int, label: str) -> None:
                steps.append((label, time.perf_counter() - started))  # noqa: B023

            with Session(engine) as db:
                run = bill_month(db, regie_code="pop", month=MONTH, today=BILLED_AS_OF, agent=None, progress=progress)
                steps.append(("Validation (commit)", time.perf_counter() - started))
                db.commit()
            elapsed = time.perf_counter() - started
            steps.append(("", elapsed))
            print(f"{attempt} : {elapsed:.1f} s — {run.invoice_count} factures, {run.total_cents / 100:,.2f} €")
            for (label, at), (_following, then) in zip(steps, steps[1:], strict=False):
                if label != "Terminé":
                    print(f"    {label:<30} {then - at:6.1f} s")
            if attempt == "premier lancement":
                with Session(engine) as db:
                    lines = db.exec(select(func.count()).select_from(InvoiceLine)).one()
                    charges = db.exec(select(func.count()).select_from(Charge)).one()
                print(f"    lignes de factures en base : {lines:,} ; prestations (charges) : {charges:,}")
                verdict = (
                    "moonshot" if elapsed <= MOONSHOT_S else "objectif atteint" if elapsed <= GOAL_S else "TROP LENT"
                )
                print(f"    objectif ≤ {GOAL_S} s (moonshot {MOONSHOT_S} s) : {verdict}")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"pic mémoire (RSS) : {peak:.0f} Mio (objectif ≤ {MEMORY_GOAL_MIB} Mio)")
    finally:
        engine.dispose()
        for path in (copy, copy.with_name(copy.name + "-wal"), copy.with_name(copy.name + "-shm")):
            path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
