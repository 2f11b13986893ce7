"""`regie payments …`: record, cancel, reject a payment, its receipt, the daily cash journal and its closing."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from regie_tui.cli import common
from regie_tui.cli.common import DbOption, JsonOption, RegieAlias, fail, french_errors, out, print_json, say

if TYPE_CHECKING:
    from regie_tui.codes import PaymentMode
    from regie_tui.services.payments.cash_journal import CashJournal
    from regie_tui.services.payments.recording import PaymentRecorded

payments_app = typer.Typer(
    help="Encaissements : règlements, reçus, journal de caisse.", no_args_is_help=True, rich_markup_mode=None
)


@payments_app.command("add")
@french_errors
def add(
    family_id: Annotated[int, common.id_argument("Numéro de la famille.", metavar="FAMILLE")],
    mode_text: Annotated[
        str,
        typer.Option(
            "--mode", help="especes, cheque, carte, virement, cesu, ancv ou payfip (prelevement : par le lot SEPA)."
        ),
    ],
    amount_text: Annotated[str, typer.Option("--amount", help="Montant : 12,50 ou 12.50 ou 12.")],
    invoices: Annotated[
        list[str] | None,
        typer.Option("--invoice", help="Facture à régler (répétable, dans l'ordre) ; défaut : les plus anciennes."),
    ] = None,
    reference: Annotated[str, typer.Option("--reference", help="Numéro du chèque, référence…")] = "",
    bank: Annotated[str, typer.Option("--bank", help="Banque du chèque.")] = "",
    payer: Annotated[str, typer.Option("--payer", help="Nom de qui paie ; défaut : le payeur de la famille.")] = "",
    on: Annotated[str | None, typer.Option("--on", help="Date d'encaissement ; défaut : aujourd'hui.")] = None,
    regie: Annotated[
        str | None, common.regie_option("Code de la régie (pop, alsh…) ; défaut : selon les factures.")
    ] = None,
    regie_alias: RegieAlias = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Enregistre un règlement et l'affecte aux factures (les plus anciennes d'abord)."""
    from regie_tui.services.common.validation import parse_money

    mode = _desk_mode(mode_text)
    amount = parse_money(amount_text)
    day = common.day_or_today(on, "Date d'encaissement")
    common.refuse_repeated(invoices or [], "La facture {} est donnée plusieurs fois.")
    numbers = [n.strip() for n in invoices or [] if n.strip()]

    from regie_tui.db import session_scope
    from regie_tui.services.payments.account import regie_for_payment
    from regie_tui.services.payments.recording import record_payment

    engine = common.desk().engine
    with session_scope(engine, write=True) as session:
        agent = common.desk().agent
        regie_id = regie_for_payment(session, family_id=family_id, regie_code=regie, invoice_numbers=numbers)
        done = record_payment(
            session,
            family_id=family_id,
            regie_id=regie_id,
            mode=mode,
            amount_cents=amount,
            received_on=day,
            agent_id=agent.id,
            reference=reference,
            bank=bank,
            payer_name=payer,
            invoice_numbers=numbers,
        )
    if as_json:
        print_json(_payment_json(done))
    else:
        _print_payment(done)


def _desk_mode(text: str) -> "PaymentMode":
    """The payment's mode, one recorded at the desk (a direct debit comes with the SEPA batch)."""
    from regie_tui.codes import PaymentMode
    from regie_tui.services.payments.modes import parse_mode

    mode = parse_mode(text)
    if mode == PaymentMode.DIRECT_DEBIT:
        fail("Un prélèvement s'enregistre par le lot SEPA, pas au guichet.")
    return mode


def _payment_json(done: "PaymentRecorded") -> dict[str, Any]:
    return {
        "receipt": done.receipt_number,
        "family_id": done.family_id,
        "mode": done.mode.value,
        "amount_cents": done.amount_cents,
        "received_on": done.received_on,
        "allocations": [
            {
                "invoice": a.invoice_number,
                "amount_cents": a.amount_cents,
                "from_credit": a.from_credit,
                "balance_after_cents": a.balance_after_cents,
            }
            for a in done.allocations
        ],
        "credit_used_cents": done.credit_used_cents,
        "credit_left_cents": done.credit_left_cents,
    }


def _print_payment(done: "PaymentRecorded") -> None:
    """The receipt's number, then how the payment went to each invoice, and the credit left."""
    from regie_tui import formatting
    from regie_tui.services.payments.modes import MODE_LABELS

    say(
        f"Règlement enregistré : reçu {done.receipt_number}, {formatting.money(done.amount_cents)} "
        f"({MODE_LABELS[done.mode]}) le {formatting.short_date(done.received_on)}."
    )
    for part in done.allocations:
        origin = " (crédit antérieur)" if part.from_credit else ""
        rest = f", reste dû {formatting.money(part.balance_after_cents)}" if part.balance_after_cents else ", soldée"
        say(f"  {part.invoice_number} : {formatting.money(part.amount_cents)}{origin}{rest}")
    if done.credit_left_cents:
        say(f"Crédit de la famille : {formatting.money(done.credit_left_cents)}.")


@payments_app.command("journal")
@french_errors
def journal(
    day_text: Annotated[str, typer.Argument(metavar="DATE", help="Le jour (AAAA-MM-JJ ou JJ/MM/AAAA).")],
    regie: Annotated[str | None, common.regie_option("Code de la régie ; défaut : toutes.")] = None,
    regie_alias: RegieAlias = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Affiche le journal de caisse d'un jour : règlements, totaux par mode, clôture."""
    day = common.day(day_text, "Date")
    from regie_tui.db import session_scope
    from regie_tui.services.common.regies import regie_by_code
    from regie_tui.services.payments.cash_journal import cash_journal

    engine = common.desk().engine
    with session_scope(engine) as session:
        regie_id = regie_by_code(session, code=regie).id if regie else None
        found = cash_journal(session, day=day, regie_id=regie_id)
    if as_json:
        print_json(_journal_json(found))
    else:
        _print_journal(found)


def _journal_json(journal: "CashJournal") -> dict[str, Any]:
    return {
        "day": journal.day.isoformat(),
        "count": journal.count,
        "total_cents": journal.total_cents,
        "totals": {t.mode.value: {"count": t.count, "total_cents": t.total_cents} for t in journal.totals},
        "regies": [
            {
                "code": r.code,
                "name": r.name,
                "closed": r.closed,
                "closed_by": r.closed_by or None,
                "closed_at": r.closed_at.isoformat() if r.closed_at else None,
                "count": r.count,
                "total_cents": r.total_cents,
                "totals": {t.mode.value: {"count": t.count, "total_cents": t.total_cents} for t in r.totals},
                "payments": [
                    {
                        "receipt": line.receipt_number,
                        "family_id": line.family_id,
                        "family": line.family_name,
                        "payer": line.payer_name,
                        "mode": line.mode.value,
                        "amount_cents": line.amount_cents,
                        "reference": line.reference,
                        "bank": line.bank,
                        "state": {"": "ok", "annulé": "cancelled", "rejeté": "rejected"}[line.state],
                        "reason": line.state_reason or None,
                        "agent": line.agent,
                        "running_cents": line.running_cents,
                    }
                    for line in r.lines
                ],
            }
            for r in journal.regies
        ],
    }


def _print_journal(journal: "CashJournal") -> None:
    from rich import box
    from rich.table import Table

    from regie_tui import formatting

    say(f"Journal de caisse du {formatting.long_date(journal.day)}")
    for regie in journal.regies:
        say("")
        closed = f" — close par {regie.closed_by or '?'}" if regie.closed else " — ouverte"
        say(f"{regie.name} ({regie.code}){closed}")
        if not regie.lines:
            say("Aucun règlement.")
            continue
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
        for head, justify, width in (
            ("Reçu", "left", 15),
            ("Famille", "left", 16),
            ("Mode", "left", 14),
            ("Montant", "right", 11),
            ("Solde caisse", "right", 12),
        ):
            table.add_column(head, justify=justify, no_wrap=True, overflow="ellipsis", max_width=width)  # type: ignore[arg-type]
        for line in regie.lines:
            mode = line.mode_label + (f" ({line.state})" if line.state else "")
            table.add_row(
                line.receipt_number,
                line.family_name,
                mode,
                formatting.money(line.amount_cents),
                formatting.money(line.running_cents),
            )
        out.print(table)
        for total in regie.totals:
            say(f"  {total.label} : {total.count} règlement(s), {formatting.money(total.total_cents)}")
        say(f"  Total : {regie.count} règlement(s), {formatting.money(regie.total_cents)}")
    if len(journal.regies) > 1:
        say("")
        say(f"Total du jour : {journal.count} règlement(s), {formatting.money(journal.total_cents)}")


@payments_app.command("cancel")
@french_errors
def cancel(
    receipt_number: Annotated[str, typer.Argument(metavar="RECU", help="Numéro du reçu.")],
    reason: Annotated[str, typer.Option("--reason", help="Motif de l'annulation (obligatoire).")],
    db: DbOption = None,
) -> None:
    """Annule un règlement saisi par erreur (journée de caisse ouverte) : ses factures sont rouvertes."""
    from regie_tui.db import session_scope
    from regie_tui.services.payments.undoing import cancel_payment

    engine = common.desk().engine
    with session_scope(engine, write=True) as session:
        agent = common.desk().agent
        done = cancel_payment(session, receipt_number=receipt_number, reason=reason, agent_id=agent.id)
    say(f"Règlement {done.receipt_number} annulé.")
    _reopened(done.reopened)


def _reopened(reopened: tuple[tuple[str, int], ...]) -> None:
    from regie_tui import formatting

    for number, cents in reopened:
        say(f"  Facture {number} rouverte : {formatting.money(cents)} à nouveau dû.")


@payments_app.command("reject")
@french_errors
def reject(
    receipt_number: Annotated[str, typer.Argument(metavar="RECU", help="Numéro du reçu.")],
    reason: Annotated[str, typer.Option("--reason", help="Motif du rejet (obligatoire), ex. chèque sans provision.")],
    on: Annotated[str | None, typer.Option("--on", help="Date du rejet ; défaut : aujourd'hui.")] = None,
    db: DbOption = None,
) -> None:
    """Enregistre un chèque ou un prélèvement revenu impayé : ses factures sont rouvertes."""
    day = common.day_or_today(on, "Date du rejet")
    from regie_tui.db import session_scope
    from regie_tui.services.payments.undoing import reject_payment

    engine = common.desk().engine
    with session_scope(engine, write=True) as session:
        agent = common.desk().agent
        done = reject_payment(session, receipt_number=receipt_number, rejected_on=day, reason=reason, agent_id=agent.id)
    say(f"Règlement {done.receipt_number} rejeté (impayé).")
    _reopened(done.reopened)


@payments_app.command("receipt")
@french_errors
def receipt_command(
    receipt_number: Annotated[str, typer.Argument(metavar="RECU", help="Numéro du reçu.")],
    out_file: Annotated[Path | None, typer.Option("--out", help="Fichier PDF ; défaut : recu-NUMERO.pdf ici.")] = None,
    db: DbOption = None,
) -> None:
    """Écrit le reçu d'un règlement en PDF."""
    from regie_tui import clock
    from regie_tui.db import session_scope
    from regie_tui.services.payments.receipts import receipt

    engine = common.desk().engine
    with session_scope(engine) as session:
        found = receipt(session, receipt_number=receipt_number)
    target = out_file or Path(f"recu-{found.number}.pdf")
    from regie_tui.reports import write_new_file
    from regie_tui.reports.receipt_pdf import receipt_pdf

    write_new_file(target, receipt_pdf(found, printed_at=clock.now()))
    say(f"Reçu {found.number} écrit dans « {target} ».")


@payments_app.command("close")
@french_errors
def close(
    day_text: Annotated[str, typer.Argument(metavar="DATE", help="Le jour à clore (AAAA-MM-JJ ou JJ/MM/AAAA).")],
    regie: Annotated[str, common.regie_option("Code de la régie (pop, alsh…).")],
    regie_alias: RegieAlias = None,
    db: DbOption = None,
) -> None:
    """Clôt la journée de caisse d'une régie (régisseur) : ses règlements sont verrouillés."""
    from regie_tui import formatting

    day = common.day(day_text, "Date")
    from regie_tui.db import session_scope
    from regie_tui.services.common.regies import regie_by_code
    from regie_tui.services.common.sql import id_of
    from regie_tui.services.payments.cash_journal import close_cash_day

    engine = common.desk().engine
    with session_scope(engine, write=True) as session:
        agent = common.desk().agent
        done = close_cash_day(session, regie_id=id_of(regie_by_code(session, code=regie)), day=day, agent_id=agent.id)
    say(
        f"Journée de caisse du {formatting.short_date(done.day)} ({done.regie_code}) close : "
        f"{done.payment_count} règlement(s), {formatting.money(done.total_cents)}."
    )
