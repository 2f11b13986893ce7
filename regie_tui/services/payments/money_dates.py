"""The dates a money movement (a payment, its cancellation, its rejection) may carry.

Never in the future (after ``clock.today()``; a direct debit is recorded ahead on its
collection date, and may be rejected on it), nor before the 1st of January of the previous
year (``earliest_money_day``: older years are closed accounts, and 0001-01-01 is a typo),
nor on or before a closed day of the régie's cash journal (a closed day closes everything
before it too). PayFiP and direct-debit payments are dated by their operator and known
after the day: a closed day still takes them (their caller says so with ``closed_days``).
"""

from datetime import date, timedelta
from typing import Literal

from sqlalchemy import func
from sqlmodel import Session, select

from regie_tui import clock, formatting
from regie_tui.errors import RegieError
from regie_tui.models import CashDay, Regie

#: What dates a money movement: a payment received, its cancellation, its rejection.
MoneyAct = Literal["payment", "cancel", "reject"]
_ACT_WORDS: dict[MoneyAct, tuple[str, str, str]] = {
    # (the date's label, "a …" to say how late, "no … may be dated" for a closed day)
    "payment": ("Date d'encaissement", "un règlement", "aucun règlement ne peut plus être daté"),
    "cancel": ("Date d'annulation", "une annulation", "aucune annulation ne peut plus être datée"),
    "reject": ("Date de rejet", "un rejet", "aucun rejet ne peut plus être daté"),
}


def earliest_money_day(today: date) -> date:
    """The earliest day a money movement may be dated: the 1st of January of the previous year."""
    return date(today.year - 1, 1, 1)


def closed_on_or_after(db: Session, *, regie_id: int, day: date) -> tuple[date, date] | None:
    """(the first closed day of the régie on or after ``day``, its last closed day), or None
    when ``day`` comes after every closed day (a closed day closes every day before it)."""
    first, last = db.exec(
        select(func.min(CashDay.day), func.max(CashDay.day)).where(CashDay.regie_id == regie_id, CashDay.day >= day)
    ).one()
    return None if first is None or last is None else (first, last)


def closed_text(db: Session, *, regie_id: int, closed: date) -> str:
    """'La journée de caisse du … de la régie … est clôturée', the start of a refusal."""
    regie = db.get(Regie, regie_id)
    code = regie.code if regie is not None else str(regie_id)
    return f"La journée de caisse du {formatting.short_date(closed)} de la régie {code} est clôturée"


def check_money_date(
    db: Session,
    *,
    regie_id: int,
    day: date,
    act: MoneyAct,
    latest: date | None = None,
    closed_days: bool = True,
) -> None:
    """Refuse (in French) a money movement of the régie dated ``day``: after ``latest`` (default
    today; a later day for what is dated ahead, a direct debit), before ``earliest_money_day``
    (the 1st of January of the previous year), or (``closed_days``) on or before a closed day of
    the régie's cash journal. Nothing is written either way."""
    label, what, none = _ACT_WORDS[act]
    today = clock.today()
    latest = today if latest is None else latest
    if day > latest:
        bound = "d'aujourd'hui, le" if latest == today else "du"
        raise RegieError(
            f"{label} {formatting.short_date(day)} dans le futur : {what} se date au plus tard "
            f"{bound} {formatting.short_date(latest)}."
        )
    earliest = earliest_money_day(today)
    if day < earliest:
        raise RegieError(
            f"{label} {formatting.short_date(day)} trop ancienne : {what} se date au plus tôt "
            f"du {formatting.short_date(earliest)} (1er janvier de l'année précédente)."
        )
    if not closed_days:
        return
    closed = closed_on_or_after(db, regie_id=regie_id, day=day)
    if closed is not None:
        first, last = closed
        reopen = last + timedelta(days=1)
        after = (
            f"le {formatting.short_date(reopen)} au plus tôt"
            if reopen <= latest
            else f"toutes les journées jusqu'au {formatting.short_date(last)} sont clôturées"
        )
        which = "de ce jour" if day == first else f"du {formatting.short_date(day)}"
        raise RegieError(f"{closed_text(db, regie_id=regie_id, closed=first)} : {none} {which} ({after}).")
