"""Today and now, as the régie sees them (Europe/Paris), possibly pinned by REGIE_TODAY."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from regie_tui.config import settings
from regie_tui.errors import RegieError

PARIS = ZoneInfo("Europe/Paris")


def today() -> date:
    pinned = settings().today
    if pinned:
        try:
            return date.fromisoformat(pinned)
        except ValueError:
            raise RegieError(f"REGIE_TODAY={pinned} n'est pas une date AAAA-MM-JJ.") from None
    return datetime.now(PARIS).date()


def now() -> datetime:
    """The current instant in Paris; with REGIE_TODAY pinned, that day at the current time of day."""
    current = datetime.now(PARIS)
    pinned = today()
    return current if pinned == current.date() else datetime.combine(pinned, current.timetz())
