"""Shared set-up for the benchmarks: the large town's database, built once."""

import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
LARGE_DB = HERE / "out" / "large.db"


def large_town_url(path: Path = LARGE_DB) -> str:
    """The 20,000-family town (seeded by seed_large.py if it is not there yet)."""
    if not path.exists():
        print(f"Building the large town first ({path})…", flush=True)
        subprocess.run([sys.executable, str(HERE / "seed_large.py"), str(path)], check=True)
    return f"sqlite:///{path}"


def percentiles(samples_ms: list[float]) -> str:
    ordered = sorted(samples_ms)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return f"n={len(ordered)} p50={statistics.median(ordered):.1f} ms p95={p95:.1f} ms max={ordered[-1]:.1f} ms"
