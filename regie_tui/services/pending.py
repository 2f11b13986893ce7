"""What waits in the bannette: the five kinds of pending items and how to count them.

One definition of "pending" for the dashboard's counters, the family file's alerts and
(later) the bannette itself: a change request not yet decided, a document not yet
validated, an enrolment or booking request, an incoming message nobody has read.
Each condition matches a partial index of the schema, so counting costs an index scan
of the pending rows only.

Written in SQLAlchemy Core over light ``table()``/``column()`` names, not the models:
`regie` counts the bannette as soon as the database is open, before SQLModel and the
models are imported (most of its start-up time). The stored state values are the
models' enums; tests/services/test_pending.py checks that they agree.
"""

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import ColumnElement, ScalarSelect, TableClause, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

PENDING = "pending"  # RequestStatus.PENDING, DocumentStatus.PENDING
REQUESTED = "requested"  # EnrollmentStatus.REQUESTED, BookingState.REQUESTED
INCOMING = "incoming"  # MessageDirection.INCOMING


def light_table(name: str, *columns: str) -> TableClause:
    """A table by its name and the columns a query needs, without its model."""
    return sa.table(name, *(sa.column(column) for column in columns))


change_request = light_table("change_request", "family_id", "status")
document = light_table("document", "family_id", "status")
enrollment = light_table("enrollment", "child_id", "status")
booking = light_table("booking", "child_id", "state")
message = light_table("message", "family_id", "direction", "read_at")
child = light_table("child", "id", "family_id")

CHANGE_PENDING = change_request.c.status == PENDING
DOCUMENT_PENDING = document.c.status == PENDING
ENROLLMENT_REQUESTED = enrollment.c.status == REQUESTED
BOOKING_REQUESTED = booking.c.state == REQUESTED
MESSAGE_UNREAD = (message.c.direction == INCOMING) & message.c.read_at.is_(None)


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


def count_of(table: TableClause, *conditions: ColumnElement[bool]) -> ScalarSelect[Any]:
    return select(func.count()).select_from(table).where(*conditions).scalar_subquery()


def pending_columns(family_id: int | None = None) -> list[ScalarSelect[Any]]:
    """The five counts, as columns of a SELECT: of the whole régie, or of one family."""
    if family_id is None:
        return [
            count_of(change_request, CHANGE_PENDING),
            count_of(document, DOCUMENT_PENDING),
            count_of(enrollment, ENROLLMENT_REQUESTED),
            count_of(booking, BOOKING_REQUESTED),
            count_of(message, MESSAGE_UNREAD),
        ]
    children = select(child.c.id).where(child.c.family_id == family_id)
    return [
        count_of(change_request, CHANGE_PENDING, change_request.c.family_id == family_id),
        count_of(document, DOCUMENT_PENDING, document.c.family_id == family_id),
        count_of(enrollment, ENROLLMENT_REQUESTED, enrollment.c.child_id.in_(children)),
        count_of(booking, BOOKING_REQUESTED, booking.c.child_id.in_(children)),
        count_of(message, MESSAGE_UNREAD, message.c.family_id == family_id),
    ]


def pending_counts(db: Session | Connection, *, family_id: int | None = None) -> PendingCounts:
    """The pending items of the whole régie, or of one family; one round trip."""
    row = db.execute(select(*pending_columns(family_id))).one()
    return PendingCounts(*(int(n) for n in row))
