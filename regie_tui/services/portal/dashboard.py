"""The tableau de bord: the town, what waits in the bannette, and what families owe.

One statement in SQLAlchemy Core, with no model (see :mod:`regie_tui.services.portal.pending`):
`regie` shows it as soon as the database is open, for a known agent, while the ORM is
still being imported.
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from regie_tui.services.portal.pending import PendingCounts, count_of, light_table, pending_columns

ISSUED = "issued"  # InvoiceStatus.ISSUED
NOT_ISSUED = ("cancelled",)  # every other InvoiceStatus

town = light_table("town", "id", "name", "service_name")
family = light_table("family", "archived_at")
agent = light_table("agent", "login", "active")
invoice = light_table("invoice", "id", "status", "total_cents")
allocation = light_table("allocation", "invoice_id", "amount_cents")
credit_note = light_table("credit_note", "invoice_id", "amount_cents")


@dataclass(frozen=True)
class DashboardCounts:
    town: str
    service: str
    families: int
    pending: PendingCounts
    unpaid_cents: int


def _sum_on_invoices(amounts: Any, *, not_issued_only: bool = False) -> ScalarSelect[Any]:
    query = select(func.coalesce(func.sum(amounts.c.amount_cents), 0))
    if not_issued_only:
        query = query.select_from(amounts.join(invoice, invoice.c.id == amounts.c.invoice_id)).where(
            invoice.c.status.in_(NOT_ISSUED)
        )
    return query.scalar_subquery()


def unpaid_cents() -> ColumnElement[Any]:
    """What all families owe the régies, in cents, as one SQL expression.

    Issued totals, less the payments and credit notes on issued invoices, counted as all
    of them less those on the (few) cancelled invoices: every term is then read from an
    index (ix_invoice_status_family_total, ix_allocation_invoice_amount) instead of joining
    every invoice to its payments. ``status IN (…)``, not ``!=``: an index seek.
    """
    issued = select(func.coalesce(func.sum(invoice.c.total_cents), 0)).where(invoice.c.status == ISSUED)
    return (
        issued.scalar_subquery()
        - (_sum_on_invoices(allocation) - _sum_on_invoices(allocation, not_issued_only=True))
        - (_sum_on_invoices(credit_note) - _sum_on_invoices(credit_note, not_issued_only=True))
    )


def _of_town(column: Any) -> ScalarSelect[Any]:
    return select(column).where(town.c.id == 1).scalar_subquery()


def dashboard_counts(db: Session | Connection) -> DashboardCounts:
    """Live counters, in one statement; each term is read from an index."""
    name, service, families, *pending, unpaid = db.execute(
        select(
            _of_town(town.c.name),
            _of_town(town.c.service_name),
            count_of(family, family.c.archived_at.is_(None)),
            *pending_columns(),
            unpaid_cents(),
        )
    ).one()
    return DashboardCounts(
        town=name if name is not None else "Collectivité non configurée",
        service=service if service is not None else "",
        families=int(families),
        pending=PendingCounts(*(int(n) for n in pending)),
        unpaid_cents=int(unpaid),
    )


def counts_for_login(connection: Connection, login: str) -> DashboardCounts | None:
    """The counters if ``login`` is an active agent; None otherwise (the agents service decides)."""
    active = connection.execute(select(agent.c.active).where(agent.c.login == login)).scalar()
    return dashboard_counts(connection) if active else None
