"""Today and now, as the régie sees them (Europe/Paris), possibly pinned by REGIE_TODAY."""

import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from regie_tui.config import settings
from regie_tui.errors import RegieError

PARIS = ZoneInfo("Europe/Paris")


#: When this process started, for a pinned time of day that still moves (see :func:`now`).
_STARTED = time.monotonic()


def _pinned() -> datetime | date | None:
    """REGIE_TODAY: a day (``2026-11-23``), or a day and a time of day (``2026-11-23T21:00``)."""
    pinned = settings().today
    if not pinned:
        return None
    try:
        return datetime.fromisoformat(pinned).replace(tzinfo=PARIS) if "T" in pinned else date.fromisoformat(pinned)
    except ValueError:
        raise RegieError(f"REGIE_TODAY={pinned} n'est pas une date AAAA-MM-JJ (ou AAAA-MM-JJTHH:MM).") from None


def today() -> date:
    pinned = _pinned()
    if isinstance(pinned, datetime):
        return pinned.date()
    if pinned is not None:
        return pinned
    return datetime.now(PARIS).date()


def now() -> datetime:
    """The current instant in Paris. With REGIE_TODAY pinned to a day, that day at the current
    time of day; pinned to a day and a time (tests, that must not depend on the hour they run
    at), that instant when the process started, moving on as the process runs."""
    pinned = _pinned()
    if isinstance(pinned, datetime):
        return pinned + timedelta(seconds=time.monotonic() - _STARTED)
    current = datetime.now(PARIS)
    if pinned is None or pinned == current.date():
        return current
    return datetime.combine(pinned, current.timetz())


def utc_now() -> datetime:
    """Now, in UTC (as instants are stored); with REGIE_TODAY pinned, as :func:`now` says."""
    return now().astimezone(UTC)
