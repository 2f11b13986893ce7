"""The SEPA export: the month's open invoices of families with a mandate usable on the
collection date, put in a debit batch (one direct debit and one payment per invoice) from
which ``reports.sepa_xml`` writes the pain.008 file."""

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from regie_tui import clock, formatting
from regie_tui.errors import RegieError
from regie_tui.models import DebitBatch, DirectDebit, Invoice, InvoiceStatus, Mandate, MandateSequence, PaymentMode
from regie_tui.services.billing.accounts import invoice_balance
from regie_tui.services.common.regies import regie_by_code
from regie_tui.services.common.sql import id_of
from regie_tui.services.common.validation import InvalidValue
from regie_tui.services.payments.recording import record_payment
from regie_tui.services.payments.sepa.batches import SEQUENCE_ORDER
from regie_tui.services.payments.sepa.mandates import get_regie, next_sequence, usable
from regie_tui.services.trust import audit
from regie_tui.services.trust.access import Permission
from regie_tui.services.trust.agents import require_agent

PRE_NOTIFICATION_DAYS = 14  # the debit's amount and date reach the debtor at least this long before


@dataclass(frozen=True)
class PlannedDebit:
    invoice_id: int
    invoice_number: str
    issue_date: date
    family_id: int
    debtor_name: str
    amount_cents: int
    mandate_id: int
    rum: str
    sequence: str


@dataclass(frozen=True)
class ExportPlan:
    regie_id: int
    regie_code: str
    regie_name: str
    creditor_id: str
    month: date
    collection_date: date
    debits: list[PlannedDebit]

    @property
    def total_cents(self) -> int:
        return sum(d.amount_cents for d in self.debits)

    def by_sequence(self) -> dict[str, tuple[int, int]]:
        """Sequence type -> (number of debits, total in cents), in the file's order."""
        totals: dict[str, tuple[int, int]] = {}
        for sequence in SEQUENCE_ORDER:
            chosen = [d.amount_cents for d in self.debits if d.sequence == sequence]
            if chosen:
                totals[sequence] = (len(chosen), sum(chosen))
        return totals


@dataclass(frozen=True)
class ExportSummary:
    batch_id: int
    message_id: str
    regie_code: str
    collection_date: date
    count: int
    total_cents: int
    by_sequence: dict[str, tuple[int, int]]
    debits: list[PlannedDebit]
    end_to_end_ids: list[str]


def _month_range(month: date) -> tuple[date, date]:
    first = month.replace(day=1)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, following


def _usable_mandates(db: Session, *, regie_id: int, collection_date: date) -> dict[int, Mandate]:
    """Family id -> its mandate for the régie usable on the collection date (the latest signed wins,
    as ``active_mandate`` chooses)."""
    mandates: dict[int, Mandate] = {}
    candidates = db.exec(
        select(Mandate)
        .where(Mandate.regie_id == regie_id, col(Mandate.signed_on) <= collection_date)
        .where(or_(col(Mandate.revoked_on).is_(None), col(Mandate.revoked_on) > collection_date))
        .order_by(col(Mandate.signed_on), col(Mandate.id))
    ).all()
    for mandate in candidates:
        if usable(mandate, collection_date):
            mandates[mandate.family_id] = mandate
    return mandates


def _planned_debits(db: Session, *, regie_id: int, month: date, mandates: dict[int, Mandate]) -> list[PlannedDebit]:
    """The régie's open invoices of ``month`` for families with a mandate, not already in a live collection."""
    first, following = _month_range(month)
    live = select(DirectDebit.id).where(DirectDebit.invoice_id == Invoice.id, col(DirectDebit.rejected_on).is_(None))
    invoices = db.exec(
        select(Invoice)
        .where(
            Invoice.regie_id == regie_id,
            Invoice.status == InvoiceStatus.ISSUED,
            col(Invoice.period_start) >= first,
            col(Invoice.period_start) < following,
            col(Invoice.family_id).in_(list(mandates)),
            ~live.exists(),
        )
        .order_by(col(Invoice.number))
    ).all()
    debits = []
    for invoice in invoices:
        balance = invoice_balance(db, invoice=invoice)
        if balance <= 0:
            continue
        mandate = mandates[invoice.family_id]
        debits.append(
            PlannedDebit(
                invoice_id=id_of(invoice),
                invoice_number=invoice.number,
                issue_date=invoice.issue_date,
                family_id=invoice.family_id,
                debtor_name=mandate.debtor_name,
                amount_cents=balance,
                mandate_id=id_of(mandate),
                rum=mandate.rum,
                sequence=MandateSequence(mandate.next_sequence).value,
            )
        )
    return debits


def _check_pre_notification(debits: list[PlannedDebit], collection_date: date) -> None:
    """Refuse a collection date less than 14 days after the issue of one of the invoices."""
    too_soon = [d for d in debits if collection_date < d.issue_date + timedelta(days=PRE_NOTIFICATION_DAYS)]
    if too_soon:
        latest = max(too_soon, key=lambda d: (d.issue_date, d.invoice_number))
        earliest = latest.issue_date + timedelta(days=PRE_NOTIFICATION_DAYS)
        others = f" (et {len(too_soon) - 1} autre(s))" if len(too_soon) > 1 else ""
        raise InvalidValue(
            f"Prélèvement le {formatting.short_date(collection_date)} trop tôt : la facture "
            f"{latest.invoice_number}{others} émise le {formatting.short_date(latest.issue_date)} annonce le "
            f"prélèvement {PRE_NOTIFICATION_DAYS} jours avant ; date de prélèvement au plus tôt le "
            f"{formatting.short_date(earliest)}."
        )


def prepare_export(
    db: Session, *, regie_code: str, month: date, collection_date: date, today: date, agent_id: int | None
) -> ExportPlan:
    """The debits a file for the régie's invoices of ``month`` would hold: open invoices (balance
    due) of families with a mandate usable on the collection date, not already in a live collection.

    Refuses a collection date that is not in the future, or less than 14 days after the issue of
    any of these invoices (the pre-notification the invoice gives)."""
    require_agent(db, agent_id, Permission.SEPA_COLLECT)
    regie = regie_by_code(db, code=regie_code)
    regie_id = id_of(regie)
    if not regie.sepa_creditor_id:
        raise RegieError(f"La régie « {regie.name} » n'a pas d'identifiant créancier SEPA (ICS) : pas de prélèvement.")
    if collection_date <= today:
        raise InvalidValue(
            f"Date de prélèvement {formatting.short_date(collection_date)} : elle doit être postérieure à "
            f"aujourd'hui ({formatting.short_date(today)})."
        )
    mandates = _usable_mandates(db, regie_id=regie_id, collection_date=collection_date)
    debits = _planned_debits(db, regie_id=regie_id, month=month, mandates=mandates)
    _check_pre_notification(debits, collection_date)
    return ExportPlan(
        regie_id=regie_id,
        regie_code=regie.code,
        regie_name=regie.name,
        creditor_id=regie.sepa_creditor_id,
        month=month.replace(day=1),
        collection_date=collection_date,
        debits=debits,
    )


def _debit_and_payment(
    db: Session, *, batch_id: int, plan: ExportPlan, debit: PlannedDebit, agent_id: int | None
) -> str:
    """One invoice's direct debit in the batch, its payment (prélèvement), its mandate moved on
    (FRST -> RCUR); its end-to-end id."""
    collection_date = plan.collection_date
    # Locks the mandate (PostgreSQL): a concurrent export waits, then sees it moved on.
    mandate = db.exec(select(Mandate).where(Mandate.id == debit.mandate_id).with_for_update()).one()
    attempts = db.exec(
        select(func.count()).select_from(DirectDebit).where(DirectDebit.invoice_id == debit.invoice_id)
    ).one()
    end_to_end_id = f"{debit.invoice_number}-{attempts + 1}"
    row = DirectDebit(
        batch_id=batch_id,
        invoice_id=debit.invoice_id,
        mandate_id=debit.mandate_id,
        amount_cents=debit.amount_cents,
        sequence=MandateSequence(mandate.next_sequence),
        end_to_end_id=end_to_end_id,
    )
    db.add(row)
    try:
        db.flush()
    except IntegrityError:
        raise RegieError(
            f"La facture {debit.invoice_number} vient d'être mise en prélèvement sur un autre poste : "
            "rien n'a été exporté, relancez l'exportation."
        ) from None
    recorded = record_payment(
        db,
        family_id=debit.family_id,
        regie_id=plan.regie_id,
        mode=PaymentMode.DIRECT_DEBIT,
        amount_cents=debit.amount_cents,
        received_on=collection_date,
        agent_id=agent_id,
        reference=f"Prélèvement SEPA {debit.rum}",
        payer_name=debit.debtor_name,
        invoice_numbers=[debit.invoice_number],
    )
    row.payment_id = recorded.payment_id
    db.add(row)
    mandate.last_used_on = collection_date
    mandate.next_sequence = next_sequence(recurrent=mandate.recurrent, last_used_on=collection_date)
    db.add(mandate)
    return end_to_end_id


def _new_batch(db: Session, plan: ExportPlan, agent_id: int | None, created: datetime) -> DebitBatch:
    """The batch of the plan's debits, under a new message id: the régie's prefix, the time, a random tail."""
    regie = get_regie(db, plan.regie_id)
    message_id = f"{regie.invoice_prefix.upper()}{created.astimezone(clock.PARIS):%y%m%d%H%M%S}{secrets.token_hex(3)}"
    batch = DebitBatch(
        regie_id=plan.regie_id,
        message_id=message_id,
        collection_date=plan.collection_date,
        transaction_count=len(plan.debits),
        total_cents=plan.total_cents,
        created_by_id=agent_id,
        created_at=created,
    )
    db.add(batch)
    db.flush()
    return batch


def export_debits(
    db: Session,
    *,
    regie_code: str,
    month: date,
    collection_date: date,
    today: date,
    agent_id: int | None,
    now: datetime | None = None,
) -> ExportSummary:
    """Put the planned debits in a batch, in the caller's transaction: one ``direct_debit`` and one
    payment (prélèvement) per invoice, the mandates moved on (FRST -> RCUR). The file itself is
    made from the batch by :func:`regie_tui.reports.sepa_xml.export_file` (services never import
    reports); the caller commits, then writes the file (see the CLI's ``regie sepa export``)."""
    plan = prepare_export(
        db, regie_code=regie_code, month=month, collection_date=collection_date, today=today, agent_id=agent_id
    )
    if not plan.debits:
        raise RegieError(
            f"Aucune facture à prélever pour {plan.regie_code} en {plan.month:%m/%Y} : pas de facture ouverte "
            "d'une famille ayant un mandat actif, hors prélèvements en cours."
        )
    batch = _new_batch(db, plan, agent_id, now or clock.now())
    message_id = batch.message_id
    end_to_end_ids = [
        _debit_and_payment(db, batch_id=id_of(batch), plan=plan, debit=debit, agent_id=agent_id)
        for debit in plan.debits
    ]
    audit.record(
        db,
        action="sepa_export",
        entity="debit_batch",
        entity_id=batch.id,
        agent_id=agent_id,
        after={
            "message_id": message_id,
            "regie": plan.regie_code,
            "month": plan.month.isoformat(),
            "collection_date": collection_date.isoformat(),
            "count": len(plan.debits),
            "total_cents": plan.total_cents,
            "invoices": [d.invoice_number for d in plan.debits],
        },
    )
    db.flush()
    return ExportSummary(
        batch_id=id_of(batch),
        message_id=message_id,
        regie_code=plan.regie_code,
        collection_date=collection_date,
        count=len(plan.debits),
        total_cents=plan.total_cents,
        by_sequence=plan.by_sequence(),
        debits=plan.debits,
        end_to_end_ids=end_to_end_ids,
    )
