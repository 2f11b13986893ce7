"""What waits in the bannette: one definition for the dashboard and the family file."""

import sqlalchemy as sa
from sqlmodel import Session, select

from regie_tui.db import make_engine
from regie_tui.models import Family
from regie_tui.services.portal.pending import KINDS, PendingCounts, pending_counts

# The reference: pending portal submissions, counted by hand, by family and kind.
RAW = "SELECT family_id, kind, count(*) FROM submission WHERE status = 'pending' GROUP BY family_id, kind"


def test_pending_counts_of_the_regie_and_of_each_family(town_url):
    engine = make_engine(town_url)
    with engine.connect() as conn:
        by_kind: dict[str, dict[int, int]] = {}
        for family_id, kind, count in conn.execute(sa.text(RAW)).all():
            by_kind.setdefault(kind, {})[family_id] = count
    with Session(engine) as session:
        overall = pending_counts(session)
        family_ids = session.exec(select(Family.id)).all()
        per_family = {family_id: pending_counts(session, family_id=family_id) for family_id in family_ids}
    engine.dispose()

    def expected(family_id: int | None) -> PendingCounts:
        return PendingCounts(
            **{
                name: sum(
                    count
                    for kind in kinds
                    for family, count in by_kind.get(kind, {}).items()
                    if family_id is None or family == family_id
                )
                for name, (kinds, _) in KINDS.items()
            }
        )

    assert set(by_kind) == {"change", "new_child", "enrolment", "booking", "document", "message", "payment"}
    assert overall == expected(None)
    assert all(getattr(overall, name) > 0 for name in KINDS)  # the test town has work of each kind
    assert overall.total == sum(sum(counts.values()) for counts in by_kind.values())
    for family_id, counts in per_family.items():
        assert counts == expected(family_id)
    assert sum(counts.total for counts in per_family.values()) == overall.total
    assert [label for label, _ in overall.labelled()] == [
        "modification(s) à valider",
        "document(s) à valider",
        "demande(s) d'inscription",
        "demande(s) de réservation",
        "message(s) à traiter",
        "paiement(s) en ligne à affecter",
    ]


def test_stored_states_and_kinds_are_the_models_enums():
    from regie_tui.models import SubmissionKind, SubmissionStatus
    from regie_tui.services.portal import pending

    assert pending.PENDING == SubmissionStatus.PENDING
    counted = [kind for kinds, _ in KINDS.values() for kind in kinds]
    assert sorted(counted) == sorted(k.value for k in SubmissionKind if k != SubmissionKind.LOGIN)
