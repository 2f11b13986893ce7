"""The bannette's list: the pending items matching a filter, grouped by family or by kind,
oldest first, with their counts by kind; and the places (facilities, activities) it filters on."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import func
from sqlmodel import Session, col, select

from regie_tui.labels import SUBMISSION_KIND
from regie_tui.models import Activity, Facility, Family, Submission, SubmissionKind, SubmissionStatus
from regie_tui.services.common.sql import select_columns
from regie_tui.services.portal.pending import KINDS, PendingCounts

Grouping = Literal["family", "kind"]


@dataclass(frozen=True)
class InboxFilter:
    kind: str | None = None  # a key of pending.KINDS ("changes", "documents"…)
    activity_id: int | None = None
    facility_id: int | None = None
    waiting_days: int | None = None  # items waiting for at least that many days
    text: str = ""


@dataclass(frozen=True)
class InboxRow:
    id: int
    kind: str
    family_id: int
    family_name: str
    submitted_at: datetime
    summary: str

    @property
    def kind_label(self) -> str:
        return SUBMISSION_KIND[self.kind]


@dataclass(frozen=True)
class InboxPage:
    rows: list[InboxRow]
    counts: PendingCounts  # of the items matching the filter, every kind
    total: int  # rows matching the filter (rows holds at most the limit)


def _conditions(filters: InboxFilter, *, now: datetime) -> list[Any]:
    conditions: list[Any] = [Submission.status == SubmissionStatus.PENDING]
    if filters.activity_id is not None:
        conditions.append(Submission.activity_id == filters.activity_id)
    if filters.facility_id is not None:
        conditions.append(
            col(Submission.activity_id).in_(select(Activity.id).where(Activity.facility_id == filters.facility_id))
        )
    if filters.waiting_days:
        conditions.append(col(Submission.submitted_at) <= now - timedelta(days=filters.waiting_days))
    text = filters.text.strip().lower()
    if text:
        conditions.append(sa.or_(func.lower(Submission.summary).contains(text), func.lower(Family.name).contains(text)))
    return conditions


def inbox_page(
    db: Session, *, filters: InboxFilter = InboxFilter(), grouping: Grouping = "family", now: datetime, limit: int = 200
) -> InboxPage:
    """The pending items matching ``filters``, oldest first within their family or kind."""
    conditions = _conditions(filters, now=now)
    base = sa.select(col(Submission.kind), func.count())
    if filters.text.strip():
        base = base.join(Family, col(Family.id) == Submission.family_id)
    by_kind: dict[Any, int] = {
        kind: n for kind, n in db.execute(base.where(*conditions).group_by(col(Submission.kind)))
    }
    counts = PendingCounts(
        **{name: sum(by_kind.get(SubmissionKind(kind), 0) for kind in kinds) for name, (kinds, _) in KINDS.items()}
    )
    if filters.kind:
        conditions.append(col(Submission.kind).in_(KINDS[filters.kind][0]))
    # The page's ids first, from the covering index; then those rows only, with their texts.
    text = bool(filters.text.strip())
    page_columns = [col(Submission.id).label("id"), col(Submission.family_id), col(Submission.submitted_at)]
    if grouping == "family":
        firsts = select_columns(
            col(Submission.family_id).label("family_id"), func.min(Submission.submitted_at).label("first")
        )
        if text:
            firsts = firsts.join(Family, col(Family.id) == Submission.family_id)
        grouped = firsts.where(*conditions).group_by(col(Submission.family_id)).cte("firsts")
        ids = select_columns(*page_columns, grouped.c.first).join(grouped, grouped.c.family_id == Submission.family_id)
        sort = [grouped.c.first, col(Submission.family_id), col(Submission.submitted_at), col(Submission.id)]
    else:
        kind_order = sa.case(
            {kind: position for position, kind in enumerate(SUBMISSION_KIND)}, value=col(Submission.kind)
        )
        ids = select_columns(*page_columns, kind_order.label("kind_order"))
        sort = [kind_order, col(Submission.submitted_at), col(Submission.id)]
    if text:
        ids = ids.join(Family, col(Family.id) == Submission.family_id)
    page_ids = ids.where(*conditions).order_by(*sort).limit(limit).subquery("page")
    group_order = [page_ids.c.first, page_ids.c.family_id] if grouping == "family" else [page_ids.c.kind_order]
    order = [*group_order, page_ids.c.submitted_at, page_ids.c.id]
    query = (
        select_columns(
            col(Submission.id),
            col(Submission.kind),
            col(Submission.family_id),
            col(Family.name),
            col(Submission.submitted_at),
            col(Submission.summary),
        )
        .join(page_ids, page_ids.c.id == Submission.id)
        .join(Family, col(Family.id) == Submission.family_id)
        .order_by(*order)
    )
    rows = [
        InboxRow(id=i, kind=SubmissionKind(kind).value, family_id=f, family_name=name, submitted_at=at, summary=summary)
        for i, kind, f, name, at, summary in db.execute(query)
    ]
    total = (
        sum(by_kind.get(SubmissionKind(kind), 0) for kind in KINDS[filters.kind][0]) if filters.kind else counts.total
    )
    return InboxPage(rows=rows, counts=counts, total=total)


@dataclass(frozen=True)
class FilterPlaces:
    """What the bannette filters on besides kind, age and text: (id, name) of each place."""

    facilities: list[tuple[int, str]]  # by name
    activities: list[tuple[int, str]]  # the latest first, then by name


def filter_places(db: Session) -> FilterPlaces:
    """The facilities and activities an agent may filter the bannette on."""
    facilities = db.execute(select_columns(col(Facility.id), col(Facility.name)).order_by(col(Facility.name)))
    activities = db.execute(
        select_columns(col(Activity.id), col(Activity.name)).order_by(
            col(Activity.start_date).desc(), col(Activity.name)
        )
    )
    return FilterPlaces(
        facilities=[(i, name) for i, name in facilities], activities=[(i, name) for i, name in activities]
    )
