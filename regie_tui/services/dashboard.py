"""The tableau de bord: the town, what waits in the bannette, and what families owe."""

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from regie_tui.models import Family, Town
from regie_tui.services.accounts import unpaid_total
from regie_tui.services.pending import PendingCounts, pending_counts


@dataclass(frozen=True)
class DashboardCounts:
    town: str
    service: str
    families: int
    pending: PendingCounts
    unpaid_cents: int


def dashboard_counts(session: Session) -> DashboardCounts:
    """Live counters: the bannette's pending items and the unpaid balance."""
    town = session.get(Town, 1)
    families = session.exec(select(func.count()).select_from(Family).where(col(Family.archived_at).is_(None))).one()
    return DashboardCounts(
        town=town.name if town else "Collectivité non configurée",
        service=town.service_name if town else "",
        families=families,
        pending=pending_counts(session),
        unpaid_cents=unpaid_total(session),
    )
