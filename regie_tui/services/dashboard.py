"""The tableau de bord: the town, and what waits in the bannette."""

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, select

from regie_tui.models import (
    Booking, BookingState, ChangeRequest, Document, DocumentStatus, Enrollment, EnrollmentStatus,
    Family, Message, MessageDirection, RequestStatus, Town,
)
from regie_tui.services.accounts import unpaid_total


@dataclass(frozen=True)
class DashboardCounts:
    town: str
    service: str
    families: int
    pending_changes: int
    pending_documents: int
    enrollment_requests: int
    booking_requests: int
    unread_messages: int
    unpaid_cents: int


def _count(session: Session, model, *conditions) -> int:
    return session.exec(select(func.count()).select_from(model).where(*conditions)).one()


def dashboard_counts(session: Session) -> DashboardCounts:
    """Live counters; each is one indexed query (partial indexes on the pending states)."""
    town = session.get(Town, 1)
    return DashboardCounts(
        town=town.name if town else "Collectivité non configurée",
        service=town.service_name if town else "",
        families=_count(session, Family, Family.archived_at.is_(None)),
        pending_changes=_count(session, ChangeRequest, ChangeRequest.status == RequestStatus.PENDING),
        pending_documents=_count(session, Document, Document.status == DocumentStatus.PENDING),
        enrollment_requests=_count(session, Enrollment, Enrollment.status == EnrollmentStatus.REQUESTED),
        booking_requests=_count(session, Booking, Booking.state == BookingState.REQUESTED),
        unread_messages=_count(
            session, Message, Message.direction == MessageDirection.INCOMING, Message.read_at.is_(None)
        ),
        unpaid_cents=unpaid_total(session),
    )
