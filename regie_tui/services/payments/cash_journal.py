"""The cash journal of a day, per régie (its payments, totals per mode, running balance), and
closing a day: once closed by the régisseur, it takes no new payment and no cancellation."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from regie_tui import clock, formatting
from regie_tui.errors import NotFound, RegieError
from regie_tui.models import Agent, CashDay, Family, Payment, PaymentMode, Regie
from regie_tui.services.common.sql import id_col, id_of
from regie_tui.services.payments.modes import MODE_LABELS, payment_state
from regie_tui.services.trust import audit
from regie_tui.services.trust.access import Permission
from regie_tui.services.trust.agents import require_agent


@dataclass(frozen=True)
class JournalLine:
    receipt_number: str
    family_id: int
    family_name: str
    payer_name: str
    mode: PaymentMode
    mode_label: str
    amount_cents: int
    reference: str
    bank: str
    state: str  # '', 'annulé', 'rejeté'
    state_reason: str
    agent: str
    running_cents: int  # the day's cash balance after this line (cancelled lines count nothing)


@dataclass(frozen=True)
class ModeTotal:
    mode: PaymentMode
    label: str
    count: int
    total_cents: int


@dataclass(frozen=True)
class JournalRegie:
    regie_id: int
    code: str
    name: str
    lines: tuple[JournalLine, ...]
    totals: tuple[ModeTotal, ...]
    count: int
    total_cents: int
    closed: bool
    closed_by: str
    closed_at: datetime | None


@dataclass(frozen=True)
class CashJournal:
    day: date
    regies: tuple[JournalRegie, ...]

    @property
    def count(self) -> int:
        return sum(r.count for r in self.regies)

    @property
    def total_cents(self) -> int:
        return sum(r.total_cents for r in self.regies)

    @property
    def totals(self) -> tuple[ModeTotal, ...]:
        """Totals per mode, all régies together, in the order of the modes."""
        merged: dict[PaymentMode, tuple[int, int]] = {}
        for regie in self.regies:
            for total in regie.totals:
                count, cents = merged.get(total.mode, (0, 0))
                merged[total.mode] = (count + total.count, cents + total.total_cents)
        return _mode_totals(merged)


@dataclass(frozen=True)
class CashDayClosed:
    regie_id: int
    regie_code: str
    day: date
    payment_count: int
    total_cents: int


def _mode_totals(per_mode: dict[PaymentMode, tuple[int, int]]) -> tuple[ModeTotal, ...]:
    """(count, cents) per mode as totals, in the order of the modes."""
    return tuple(
        ModeTotal(mode=m, label=MODE_LABELS[m], count=per_mode[m][0], total_cents=per_mode[m][1])
        for m in PaymentMode
        if m in per_mode
    )


def _journal_regie(
    regie: Regie, payments: list[tuple[Payment, str]], closed: CashDay | None, agents: dict[int, str]
) -> JournalRegie:
    """One régie's part of the day: its lines with the running balance, its totals, whether it is closed."""
    lines = []
    running = 0
    per_mode: dict[PaymentMode, tuple[int, int]] = {}
    for payment, family_name in payments:
        state = payment_state(payment.cancelled_on, payment.rejected_on)
        if state != "annulé":
            running += payment.amount_cents
            count, cents = per_mode.get(payment.mode, (0, 0))
            per_mode[payment.mode] = (count + 1, cents + payment.amount_cents)
        lines.append(
            JournalLine(
                receipt_number=payment.receipt_number,
                family_id=payment.family_id,
                family_name=family_name,
                payer_name=payment.payer_name,
                mode=payment.mode,
                mode_label=MODE_LABELS[payment.mode],
                amount_cents=payment.amount_cents,
                reference=payment.reference,
                bank=payment.bank,
                state=state,
                state_reason=(payment.cancel_reason or payment.rejection_reason or "") if state else "",
                agent=agents.get(payment.created_by_id, "portail") if payment.created_by_id else "portail",
                running_cents=running,
            )
        )
    totals = _mode_totals(per_mode)
    return JournalRegie(
        regie_id=id_of(regie),
        code=regie.code,
        name=regie.name,
        lines=tuple(lines),
        totals=totals,
        count=sum(t.count for t in totals),
        total_cents=running,
        closed=closed is not None,
        closed_by=agents.get(closed.closed_by_id, "") if closed and closed.closed_by_id else "",
        closed_at=closed.closed_at if closed else None,
    )


def cash_journal(db: Session, *, day: date, regie_id: int | None = None) -> CashJournal:
    """The payments received on ``day`` per régie, with totals per mode and the running balance.

    A cancelled payment is listed and counts nothing; a rejected one was received that
    day and counts (its rejection is on its own date).
    """
    regie_statement = select(Regie).order_by(col(Regie.id))
    if regie_id is not None:
        regie_statement = regie_statement.where(Regie.id == regie_id)
    found = list(db.exec(regie_statement))
    if regie_id is not None and not found:
        raise NotFound(f"Régie n° {regie_id} introuvable.")
    agents = dict(db.exec(select(id_col(Agent.id), Agent.display_name)).all())
    rows = db.exec(
        select(Payment, Family.name)
        .join(Family, col(Family.id) == Payment.family_id)
        .where(Payment.received_on == day, col(Payment.regie_id).in_([id_of(r) for r in found]))
        .order_by(col(Payment.created_at), col(Payment.receipt_number))
    ).all()
    closed_days = {
        c.regie_id: c
        for c in db.exec(
            select(CashDay).where(CashDay.day == day, col(CashDay.regie_id).in_([id_of(r) for r in found]))
        )
    }
    by_regie: dict[int, list[tuple[Payment, str]]] = defaultdict(list)
    for payment, family_name in rows:
        by_regie[payment.regie_id].append((payment, family_name))
    journal = [_journal_regie(r, by_regie[id_of(r)], closed_days.get(id_of(r)), agents) for r in found]
    return CashJournal(day=day, regies=tuple(journal))


def close_cash_day(db: Session, *, regie_id: int, day: date, agent_id: int) -> CashDayClosed:
    """Close a day of a régie's cash journal (régisseur or administrator): its payments are locked."""
    require_agent(db, agent_id, Permission.CLOSE_CASH_DAY)
    if day > clock.today():
        raise RegieError(
            f"Le {formatting.short_date(day)} n'est pas encore passé : la journée ne se clôt pas d'avance."
        )
    journal = cash_journal(db, day=day, regie_id=regie_id).regies[0]
    if journal.closed:
        raise RegieError(
            f"La journée de caisse du {formatting.short_date(day)} ({journal.code}) est déjà close"
            + (f" par {journal.closed_by}." if journal.closed_by else ".")
        )
    db.add(
        CashDay(
            regie_id=regie_id,
            day=day,
            payment_count=journal.count,
            total_cents=journal.total_cents,
            closed_by_id=agent_id,
        )
    )
    audit.record(
        db,
        action="cash_day_close",
        entity="cash_day",
        entity_id=None,
        agent_id=agent_id,
        after={
            "regie": journal.code,
            "day": day.isoformat(),
            "payment_count": journal.count,
            "total_cents": journal.total_cents,
            "totals": {t.mode.value: t.total_cents for t in journal.totals},
        },
    )
    db.flush()
    return CashDayClosed(
        regie_id=regie_id,
        regie_code=journal.code,
        day=day,
        payment_count=journal.count,
        total_cents=journal.total_cents,
    )
