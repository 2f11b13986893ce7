"""The bannette's refusal templates: the reasons agents give often, by kind of item."""

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import func
from sqlmodel import Session, col, select

from regie_tui.errors import NotFound
from regie_tui.models import RefusalTemplate, SubmissionKind
from regie_tui.services.common.sql import id_of
from regie_tui.services.common.validation import check_text
from regie_tui.services.trust import audit
from regie_tui.services.trust.agents import AgentInfo


@dataclass(frozen=True)
class Template:
    id: int
    kind: str | None
    text: str


def refusal_templates(db: Session, *, kind: str | None = None) -> list[Template]:
    """The active templates for an item of ``kind`` (its own first, then the general ones)."""
    query = select(RefusalTemplate).where(col(RefusalTemplate.active))
    if kind is not None:
        query = query.where(sa.or_(col(RefusalTemplate.kind).is_(None), col(RefusalTemplate.kind) == kind))
    rows = db.exec(query.order_by(col(RefusalTemplate.kind).is_(None), col(RefusalTemplate.position))).all()
    return [Template(id=id_of(t), kind=t.kind.value if t.kind else None, text=t.text) for t in rows]


def save_template(db: Session, *, text: str, kind: str | None, agent: AgentInfo) -> int:
    text = check_text(" ".join(text.split()), "Motif", column=RefusalTemplate.text)
    position = db.exec(select(func.coalesce(func.max(RefusalTemplate.position), 0))).one() + 1
    template = RefusalTemplate(kind=SubmissionKind(kind) if kind else None, text=text, position=position)
    db.add(template)
    db.flush()
    audit.record(
        db, action="create", entity="refusal_template", entity_id=template.id, agent_id=agent.id, after={"text": text}
    )
    return id_of(template)


def withdraw_template(db: Session, *, template_id: int, agent: AgentInfo) -> None:
    template = db.get(RefusalTemplate, template_id)
    if template is None:
        raise NotFound(f"Aucun motif n° {template_id}.")
    template.active = False
    db.add(template)
    audit.record(
        db,
        action="delete",
        entity="refusal_template",
        entity_id=template_id,
        agent_id=agent.id,
        before={"text": template.text},
    )
