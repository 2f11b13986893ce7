"""Seed a large city (20,000 families, ~10 million bookings) into a fresh SQLite file.

Goal: under 2 minutes on the reference 2-core machine, with bounded memory.

    .venv/bin/python benchmarks/seed_large.py [PATH] [--families N] [--today YYYY-MM-DD]

Prints the seconds elapsed, the peak RSS, the row counts and the database size.
"""

import argparse
import resource
import sqlite3
import sys
import time
from datetime import date
from pathlib import Path

from regie_tui.db import make_engine, upgrade
from regie_tui.demo.seed import seed_demo_town

DEFAULT_PATH = Path(__file__).parent / "out" / "large.db"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_PATH)
    parser.add_argument("--families", type=int, default=20_000)
    parser.add_argument("--today", type=date.fromisoformat, default=date(2026, 11, 23))
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    path: Path = args.path
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{path}", create=True)
    upgrade(engine)

    started = time.perf_counter()
    seed_demo_town(engine, families=args.families, seed=args.seed, today=args.today, admin_login="bench")
    elapsed = time.perf_counter() - started
    engine.dispose()

    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    child_peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the generator process
    with sqlite3.connect(path) as db:
        counts = {
            t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("family", "child", "booking", "invoice", "payment")
        }
    size_mib = sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 2**20

    print(f"familles demandées : {args.families}, aujourd'hui : {args.today}")
    print(f"durée du seed      : {elapsed:.1f} s")
    print(f"pic mémoire (RSS)  : {peak_mib:.0f} Mio (processus du générateur : {child_peak_mib:.0f} Mio)")
    for table, count in counts.items():
        print(f"{table:<19}: {count:,}".replace(",", " "))
    print(f"taille de la base  : {size_mib:.0f} Mio ({path})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
