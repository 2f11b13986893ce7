"""The dashboard's one statement: the unpaid total to the cent, and counters only for an agent."""

import sqlalchemy as sa
from sqlalchemy import func
from sqlmodel import Session, col, select

from regie_tui.db import make_engine
from regie_tui.models import Allocation, CreditNote, Invoice, InvoiceStatus
from regie_tui.services.portal import dashboard
from regie_tui.services.portal.dashboard import counts_for_login, dashboard_counts

from helpers import ADMIN_LOGIN


def test_invoice_states_are_the_models_enums():
    assert dashboard.ISSUED == InvoiceStatus.ISSUED
    assert set(dashboard.NOT_ISSUED) == {s.value for s in InvoiceStatus} - {InvoiceStatus.ISSUED.value}


def unpaid_by_join(session: Session) -> int:
    """The unpaid total the plain way: issued invoices joined to their payments and credit notes."""
    issued = col(Invoice.status) == InvoiceStatus.ISSUED
    invoiced = session.exec(select(func.coalesce(func.sum(Invoice.total_cents), 0)).where(issued)).one()
    paid = session.exec(
        select(func.coalesce(func.sum(Allocation.amount_cents), 0))
        .join(Invoice, col(Invoice.id) == Allocation.invoice_id)
        .where(issued)
    ).one()
    credited = session.exec(
        select(func.coalesce(func.sum(CreditNote.amount_cents), 0))
        .join(Invoice, col(Invoice.id) == CreditNote.invoice_id)
        .where(issued)
    ).one()
    return int(invoiced) - int(paid) - int(credited)


def test_the_unpaid_total_leaves_out_cancelled_invoices_to_the_cent(fresh_town_url):
    engine = make_engine(fresh_town_url)
    with Session(engine) as session:
        assert dashboard_counts(session).unpaid_cents == unpaid_by_join(session) > 0
        # Cancel invoices that carry payments or credit notes (a shortcut, for the test only).
        session.connection().execute(
            sa.text(
                "UPDATE invoice SET status = 'cancelled' WHERE id IN (SELECT invoice_id FROM credit_note)"
                " OR id IN (SELECT invoice_id FROM allocation WHERE id % 3 = 0) OR id % 7 = 0"
            )
        )
        expected = unpaid_by_join(session)
        assert dashboard_counts(session).unpaid_cents == expected
    engine.dispose()


def test_counters_before_the_orm_only_for_an_active_agent(town_url):
    engine = make_engine(town_url)
    with engine.connect() as connection:
        early = counts_for_login(connection, ADMIN_LOGIN)
        assert counts_for_login(connection, "inconnu") is None
    with Session(engine) as session:
        assert early is not None and early == dashboard_counts(session)
    engine.dispose()
