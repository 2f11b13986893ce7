"""What waits in the bannette: the five kinds of pending items and how to count them.

One definition of "pending" for the dashboard's counters, the family file's alerts and
(later) the bannette itself: a change request not yet decided, a document not yet
validated, an enrolment or booking request, an incoming message nobody has read.
Each condition matches a partial index of the schema, so counting costs an index scan
of the pending rows only.
"""

from dataclasses import dataclass

from sqlalchemy import ColumnElement, ScalarSelect, func
from sqlmodel import Session, SQLModel, col, select

from regie_tui.models import (
    Booking,
    BookingState,
    ChangeRequest,
    Child,
    Document,
    DocumentStatus,
    Enrollment,
    EnrollmentStatus,
    Message,
    MessageDirection,
    RequestStatus,
)
from regie_tui.services.sql import select_columns

CHANGE_PENDING = col(ChangeRequest.status) == RequestStatus.PENDING
DOCUMENT_PENDING = col(Document.status) == DocumentStatus.PENDING
ENROLLMENT_REQUESTED = col(Enrollment.status) == EnrollmentStatus.REQUESTED
BOOKING_REQUESTED = col(Booking.state) == BookingState.REQUESTED
MESSAGE_UNREAD = (col(Message.direction) == MessageDirection.INCOMING) & col(Message.read_at).is_(None)


@dataclass(frozen=True)
class PendingCounts:
    changes: int
    documents: int
    enrollment_requests: int
    booking_requests: int
    unread_messages: int

    def labelled(self) -> list[tuple[str, int]]:
        """(French label, count) of each kind, in the bannette's order."""
        return [
            ("modification(s) à valider", self.changes),
            ("document(s) à valider", self.documents),
            ("demande(s) d'inscription", self.enrollment_requests),
            ("demande(s) de réservation", self.booking_requests),
            ("message(s) non lu(s)", self.unread_messages),
        ]


def _count(model: type[SQLModel], *conditions: ColumnElement[bool]) -> ScalarSelect[int]:
    return select(func.count()).select_from(model).where(*conditions).scalar_subquery()


def pending_counts(session: Session, *, family_id: int | None = None) -> PendingCounts:
    """The pending items of the whole régie, or of one family; one round trip."""
    if family_id is not None:
        children = select(Child.id).where(Child.family_id == family_id)
        row = session.exec(
            select_columns(
                _count(ChangeRequest, CHANGE_PENDING, col(ChangeRequest.family_id) == family_id),
                _count(Document, DOCUMENT_PENDING, col(Document.family_id) == family_id),
                _count(Enrollment, ENROLLMENT_REQUESTED, col(Enrollment.child_id).in_(children)),
                _count(Booking, BOOKING_REQUESTED, col(Booking.child_id).in_(children)),
                _count(Message, MESSAGE_UNREAD, col(Message.family_id) == family_id),
            )
        ).one()
    else:
        row = session.exec(
            select_columns(
                _count(ChangeRequest, CHANGE_PENDING),
                _count(Document, DOCUMENT_PENDING),
                _count(Enrollment, ENROLLMENT_REQUESTED),
                _count(Booking, BOOKING_REQUESTED),
                _count(Message, MESSAGE_UNREAD),
            )
        ).one()
    return PendingCounts(*(int(n) for n in row))
