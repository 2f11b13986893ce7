"""Today and now, as the régie sees them (Europe/Paris), possibly pinned by REGIE_TODAY."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from regie_tui.config import settings

PARIS = ZoneInfo("Europe/Paris")


def today() -> date:
    pinned = settings().today
    if pinned:
        return date.fromisoformat(pinned)
    return datetime.now(PARIS).date()


def now_utc() -> datetime:
    return datetime.now(UTC)
