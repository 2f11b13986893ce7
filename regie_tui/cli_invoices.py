"""`regie invoices …`: the monthly invoicing run and credit notes (cli_invoice_print adds show and pdf)."""

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from regie_tui import cli
from regie_tui.cli import DbOption, JsonOption, french_errors, out, print_json

if TYPE_CHECKING:
    from regie_tui.services.billing.invoicing import MonthRun

invoices_app = typer.Typer(
    help="Facturation : le lancement mensuel, les avoirs, les factures en PDF.", no_args_is_help=True
)

FAMILIES_SHOWN = 40  # families listed in the plain output (all of them with --json)


@invoices_app.command("run")
@french_errors
def run_command(
    month: Annotated[str, typer.Option("--month", help="Le mois facturé, AAAA-MM.")],
    service: Annotated[str, typer.Option("--service", help="Le code de la régie (pop, alsh…).")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Aperçu seulement : rien n'est émis, aucun numéro n'est pris.")
    ] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Lance la facturation d'un mois pour une régie : une facture par famille, tout ou rien."""
    from regie_tui import clock
    from regie_tui.db import session_scope
    from regie_tui.services.billing import invoicing

    first = cli.month(month)
    engine = cli.desk().engine

    def progress(done: int, total: int, label: str) -> None:
        if not as_json:
            print(f"[{done}/{total}] {label}", file=sys.stderr, flush=True)

    with session_scope(engine, write=True) as session:  # a preview writes too, then rolls back
        run = invoicing.preview_month if dry_run else invoicing.bill_month
        result = run(
            session,
            regie_code=service,
            month=first,
            today=clock.today(),
            agent=cli.desk().agent,
            progress=progress,
        )
    if as_json:
        print_json(_as_json(result, dry_run=dry_run))
    else:
        _print(result, dry_run=dry_run)


@invoices_app.command("credit")
@french_errors
def credit_command(
    number: Annotated[str, typer.Argument(metavar="NUMERO", help="Le numéro de la facture.")],
    reason: Annotated[str, typer.Option("--reason", help="Le motif de l'avoir (obligatoire).")],
    line: Annotated[
        list[int] | None,
        typer.Option("--line", min=1, max=cli.ID_MAX, help="Une ligne rendue (son numéro d'ordre) ; répétable."),
    ] = None,
    amount: Annotated[
        str | None, typer.Option("--amount", help="Réduit la facture de ce montant (12,50), sans rendre de ligne.")
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Établit un avoir : annule la facture (par défaut), rend des lignes ou la réduit d'un montant."""
    from sqlmodel import select

    from regie_tui import clock, formatting
    from regie_tui.db import session_scope
    from regie_tui.errors import RegieError
    from regie_tui.models import Invoice, InvoiceLine
    from regie_tui.services.billing import invoicing
    from regie_tui.services.common.validation import parse_money

    cli.refuse_repeated(line or [], "La ligne {} est donnée plusieurs fois.")
    cents = parse_money(amount) if amount is not None else None
    engine = cli.desk().engine
    with session_scope(engine, write=True) as session:
        agent = cli.desk().agent
        line_ids: list[int] = []
        if line:
            invoice = session.exec(select(Invoice).where(Invoice.number == number.strip())).first()
            if invoice is None:
                raise RegieError(f"Facture {number} introuvable.")
            positions = {
                p: i
                for p, i in session.exec(
                    select(InvoiceLine.position, InvoiceLine.id).where(InvoiceLine.invoice_id == invoice.id)
                )
            }
            for position in line:
                if position not in positions:
                    raise RegieError(f"La facture {invoice.number} n'a pas de ligne {position}.")
                line_ids.append(positions[position] or 0)
        note = invoicing.credit_invoice(
            session,
            invoice_number=number,
            reason=reason,
            today=clock.today(),
            agent=agent,
            line_ids=line_ids,
            amount_cents=cents,
        )
    if as_json:
        print_json(
            {
                "number": note.number,
                "invoice": note.invoice_number,
                "amount_cents": note.amount_cents,
                "lines_freed": note.lines_freed,
                "invoice_cancelled": note.invoice_cancelled,
                "released_cents": note.released_cents,
            }
        )
        return
    text = f"Avoir {note.number} de {formatting.money(note.amount_cents)} sur la facture {note.invoice_number}"
    if note.invoice_cancelled:
        text += " : la facture est annulée"
    if note.lines_freed:
        text += f" ; {note.lines_freed} ligne(s) rendue(s), leurs jours pourront être refacturés"
    if note.released_cents:
        text += f" ; {formatting.money(note.released_cents)} déjà payés deviennent un avoir de la famille"
    out.print(text + ".", highlight=False, markup=False, soft_wrap=True)


def _as_json(run: "MonthRun", *, dry_run: bool) -> dict[str, Any]:
    return {
        "service": run.regie_code,
        "month": run.month.isoformat()[:7],
        "dry_run": dry_run,
        "issue_date": run.issue_date.isoformat(),
        "billed_until": run.billed_until.isoformat(),
        "invoice_count": run.invoice_count,
        "total_cents": run.total_cents,
        "first_number": None if dry_run else run.first_number,
        "last_number": None if dry_run else run.last_number,
        "anomaly_counts": run.anomaly_counts,
        "anomalies": [
            {"kind": a.kind, "family_id": a.family_id, "family": a.family_name, "detail": a.text} for a in run.anomalies
        ],
        "families": [
            {
                "family_id": f.family_id,
                "family": f.family_name,
                "number": None if dry_run else f.number,
                "debtor": f.debtor_name,
                "total_cents": f.total_cents,
                "lines": [
                    {
                        "child": line.child_name,
                        "label": line.label,
                        "kind": line.kind,
                        "dates": line.dates,
                        "quantity": line.quantity,
                        "unit_price_cents": line.unit_price_cents,
                        "amount_cents": line.amount_cents,
                        "basis": line.basis,
                    }
                    for line in f.lines
                ],
            }
            for f in run.families
        ],
    }


def _print(run: "MonthRun", *, dry_run: bool) -> None:
    from regie_tui import formatting
    from regie_tui.services.billing.invoicing import month_last_day

    def say(text: str = "") -> None:
        out.print(text, highlight=False, markup=False, soft_wrap=True)

    period = formatting.of_month(run.month)
    if not run.families:
        say(f"Facturation {run.regie_code} {period} : rien à facturer (aucune prestation non facturée).")
    elif dry_run:
        say(f"Aperçu de la facturation {run.regie_code} {period} : {run.invoice_count} facture(s),")
        say(f"{formatting.money(run.total_cents)}. Rien n'a été émis.")
    else:
        say(f"Facturation {run.regie_code} {period} émise : {run.invoice_count} facture(s),")
        say(f"{formatting.money(run.total_cents)}, du n° {run.first_number} au n° {run.last_number}.")
    if run.billed_until < month_last_day(run.month):
        say(f"Mois en cours : jours facturés jusqu'au {formatting.short_date(run.billed_until)}.")
    for family in run.families[:FAMILIES_SHOWN]:
        number = "" if dry_run else f"{family.number}  "
        total = formatting.money(family.total_cents)
        say(f"  {number}{family.family_name[:30]:30} {len(family.lines):>3} ligne(s) {total:>12}")
    if len(run.families) > FAMILIES_SHOWN:
        say(f"  … et {len(run.families) - FAMILIES_SHOWN} autre(s) famille(s) (--json pour tout voir).")
    counted = {kind: n for kind, n in run.anomaly_counts.items() if n}
    if counted:
        say("Anomalies :")
        for kind, n in counted.items():
            say(f"  {kind} : {n}")
        for anomaly in run.anomalies[:20]:
            say(f"  {anomaly.family_name[:20]} — {anomaly.kind}")
            say(f"      {anomaly.text}")
        if len(run.anomalies) > 20:
            say(f"  … {len(run.anomalies) - 20} de plus (--json pour tout voir).")
    else:
        say("Aucune anomalie.")
