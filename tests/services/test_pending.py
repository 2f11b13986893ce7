"""What waits in the bannette: one definition for the dashboard and the family file."""

import sqlalchemy as sa
from sqlmodel import Session, select

from regie_tui.db import make_engine
from regie_tui.models import Family
from regie_tui.services.pending import PendingCounts, pending_counts

RAW = {
    "changes": "SELECT family_id, count(*) FROM change_request WHERE status = 'pending' GROUP BY family_id",
    "documents": "SELECT family_id, count(*) FROM document WHERE status = 'pending' GROUP BY family_id",
    "enrollment_requests": "SELECT c.family_id, count(*) FROM enrollment e JOIN child c ON c.id = e.child_id "
    "WHERE e.status = 'requested' GROUP BY c.family_id",
    "booking_requests": "SELECT c.family_id, count(*) FROM booking b JOIN child c ON c.id = b.child_id "
    "WHERE b.state = 'requested' GROUP BY c.family_id",
    "unread_messages": "SELECT family_id, count(*) FROM message WHERE direction = 'incoming' AND read_at IS NULL "
    "GROUP BY family_id",
}


def test_pending_counts_of_the_regie_and_of_each_family(town_url):
    engine = make_engine(town_url)
    with engine.connect() as conn:
        raw = {kind: dict(conn.execute(sa.text(sql)).all()) for kind, sql in RAW.items()}
    with Session(engine) as session:
        overall = pending_counts(session)
        family_ids = session.exec(select(Family.id)).all()
        per_family = {family_id: pending_counts(session, family_id=family_id) for family_id in family_ids}
    engine.dispose()
    assert overall == PendingCounts(**{kind: sum(counts.values()) for kind, counts in raw.items()})
    assert all(getattr(overall, kind) > 0 for kind in RAW)  # the test town has work of each kind
    for family_id, counts in per_family.items():
        assert counts == PendingCounts(**{kind: raw[kind].get(family_id, 0) for kind in RAW})
    assert [label for label, _ in overall.labelled()] == [
        "modification(s) à valider",
        "document(s) à valider",
        "demande(s) d'inscription",
        "demande(s) de réservation",
        "message(s) non lu(s)",
    ]


def test_stored_states_are_the_models_enums():
    from regie_tui.models import BookingState, DocumentStatus, EnrollmentStatus, MessageDirection, RequestStatus
    from regie_tui.services import pending

    assert pending.PENDING == RequestStatus.PENDING == DocumentStatus.PENDING
    assert pending.REQUESTED == EnrollmentStatus.REQUESTED == BookingState.REQUESTED
    assert pending.INCOMING == MessageDirection.INCOMING
