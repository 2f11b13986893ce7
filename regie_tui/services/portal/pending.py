"""What waits in the bannette, by kind, and how to count it.

One definition of "pending" for the dashboard's counters, the family file's alerts and
the bannette itself: a portal submission nobody has decided yet. The condition matches
the partial covering index ``ix_submission_pending``, so counting reads the pending
rows' index only.

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

PENDING = "pending"  # SubmissionStatus.PENDING


def light_table(name: str, *columns: str) -> TableClause:
    """A table by its name and the columns a query needs, without its model."""
    return sa.table(name, *(sa.column(column) for column in columns))


submission = light_table("submission", "family_id", "status", "kind")

# The bannette's kinds of items, in its order: (counted kinds, French label).
KINDS: dict[str, tuple[tuple[str, ...], str]] = {
    "changes": (("change", "new_child"), "modification(s) à valider"),
    "documents": (("document",), "document(s) à valider"),
    "enrollment_requests": (("enrolment",), "demande(s) d'inscription"),
    "booking_requests": (("booking",), "demande(s) de réservation"),
    "messages": (("message",), "message(s) à traiter"),
    "payments": (("payment",), "paiement(s) en ligne à affecter"),
}


#: The same kinds in a few letters, for one-line summaries (the bannette's header, a family's alerts).
SHORT_LABELS = {
    "changes": "Modif.",
    "documents": "Docs",
    "enrollment_requests": "Inscr.",
    "booking_requests": "Résa",
    "messages": "Msg",
    "payments": "Paiem.",
}


@dataclass(frozen=True)
class PendingCounts:
    changes: int
    documents: int
    enrollment_requests: int
    booking_requests: int
    messages: int
    payments: int

    def labelled(self) -> list[tuple[str, int]]:
        """(French label, count) of each kind, in the bannette's order."""
        return [(label, getattr(self, name)) for name, (_, label) in KINDS.items()]

    def short(self) -> str:
        """'Modif. 2 · Docs 1' (the kinds with items only)."""
        return " · ".join(f"{SHORT_LABELS[name]} {getattr(self, name)}" for name in KINDS if getattr(self, name))

    @property
    def total(self) -> int:
        return sum(getattr(self, name) for name in KINDS)


def count_of(table: TableClause, *conditions: ColumnElement[bool]) -> ScalarSelect[Any]:
    return select(func.count()).select_from(table).where(*conditions).scalar_subquery()


def pending_columns(family_id: int | None = None) -> list[ScalarSelect[Any]]:
    """The counts of each kind, as columns of a SELECT: of the whole régie, or of one family."""
    of_family = [] if family_id is None else [submission.c.family_id == family_id]
    return [
        count_of(submission, submission.c.status == PENDING, submission.c.kind.in_(kinds), *of_family)
        for kinds, _ in KINDS.values()
    ]


def pending_counts(db: Session | Connection, *, family_id: int | None = None) -> PendingCounts:
    """The pending items of the whole régie, or of one family; one round trip."""
    row = db.execute(select(*pending_columns(family_id))).one()
    return PendingCounts(*(int(n) for n in row))
