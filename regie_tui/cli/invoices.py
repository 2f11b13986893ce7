"""`regie invoices …`: the monthly invoicing run, credit notes, and an invoice as the family
reads it (`show` in the terminal, `pdf` one invoice or a régie's month)."""

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from regie_tui.cli import common
from regie_tui.cli.common import DbOption, JsonOption, RegieAlias, fail, french_errors, out, print_json
from regie_tui.errors import system_error
from regie_tui.limits import ID_MAX

if TYPE_CHECKING:
    from regie_tui.services.billing.credit_notes import CreditNoteIssued
    from regie_tui.services.billing.document import InvoiceDocument
    from regie_tui.services.billing.invoicing import MonthRun

invoices_app = typer.Typer(
    help="Facturation : le lancement mensuel, les avoirs, les factures en PDF.", no_args_is_help=True
)

FAMILIES_SHOWN = 40  # families listed in the plain output (all of them with --json)
#: Below this many invoices one process is faster than starting a second one.
PARALLEL_FROM = 400

# ------------------------------------------------------------------ the monthly run


@invoices_app.command("run")
@french_errors
def run_command(
    month: Annotated[str, typer.Option("--month", help="Le mois facturé, AAAA-MM.")],
    regie: Annotated[str, common.regie_option("Le code de la régie (pop, alsh…).")],
    regie_alias: RegieAlias = None,
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

    first = common.month(month)
    engine = common.desk().engine

    def progress(done: int, total: int, label: str) -> None:
        if not as_json:
            print(f"[{done}/{total}] {label}", file=sys.stderr, flush=True)

    with session_scope(engine, write=True) as session:  # a preview writes too, then rolls back
        run = invoicing.preview_month if dry_run else invoicing.bill_month
        result = run(
            session,
            regie_code=regie,
            month=first,
            today=clock.today(),
            agent=common.desk().agent,
            progress=progress,
        )
    if as_json:
        print_json(_run_json(result, dry_run=dry_run))
    else:
        _print_run(result, dry_run=dry_run)


def _run_json(run: "MonthRun", *, dry_run: bool) -> dict[str, Any]:
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


def _print_run(run: "MonthRun", *, dry_run: bool) -> None:
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


# ------------------------------------------------------------------ credit notes


@invoices_app.command("credit")
@french_errors
def credit_command(
    number: Annotated[str, typer.Argument(metavar="NUMERO", help="Le numéro de la facture.")],
    reason: Annotated[str, typer.Option("--reason", help="Le motif de l'avoir (obligatoire).")],
    line: Annotated[
        list[int] | None,
        typer.Option("--line", min=1, max=ID_MAX, help="Une ligne rendue (son numéro d'ordre) ; répétable."),
    ] = None,
    amount: Annotated[
        str | None, typer.Option("--amount", help="Réduit la facture de ce montant (12,50), sans rendre de ligne.")
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Établit un avoir : annule la facture (par défaut), rend des lignes ou la réduit d'un montant."""
    from regie_tui import clock
    from regie_tui.db import session_scope
    from regie_tui.services.billing.credit_notes import credit_invoice, line_ids_at
    from regie_tui.services.common.validation import parse_money

    common.refuse_repeated(line or [], "La ligne {} est donnée plusieurs fois.")
    cents = parse_money(amount) if amount is not None else None
    engine = common.desk().engine
    with session_scope(engine, write=True) as session:
        agent = common.desk().agent
        note = credit_invoice(
            session,
            invoice_number=number,
            reason=reason,
            today=clock.today(),
            agent=agent,
            line_ids=line_ids_at(session, invoice_number=number, positions=line or []),
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
    _print_credit(note)


def _print_credit(note: "CreditNoteIssued") -> None:
    from regie_tui import formatting

    text = f"Avoir {note.number} de {formatting.money(note.amount_cents)} sur la facture {note.invoice_number}"
    if note.invoice_cancelled:
        text += " : la facture est annulée"
    if note.lines_freed:
        text += f" ; {note.lines_freed} ligne(s) rendue(s), leurs jours pourront être refacturés"
    if note.released_cents:
        text += f" ; {formatting.money(note.released_cents)} déjà payés deviennent un avoir de la famille"
    out.print(text + ".", highlight=False, markup=False, soft_wrap=True)


# ------------------------------------------------------------------ an invoice as the family reads it


@invoices_app.command("show")
@french_errors
def show_command(
    number: Annotated[str, typer.Argument(metavar="NUMÉRO", help="Le numéro de la facture (pop-F261000001).")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Affiche une facture comme son PDF : lignes par enfant, total, déjà réglé, reste à payer, comment régler."""
    from regie_tui.db import session_scope
    from regie_tui.services.billing.document import invoice_document
    from regie_tui.services.billing.document_json import as_json as document_json

    engine = common.desk().engine
    with session_scope(engine) as session:
        doc = invoice_document(session, number=number)
    if as_json:
        print_json(document_json(doc))
    else:
        _print_document(doc)


@invoices_app.command("pdf")
@french_errors
def pdf_command(
    number: Annotated[
        str | None, typer.Argument(metavar="NUMÉRO", help="Le numéro de la facture (ou --month et --regie).")
    ] = None,
    out_path: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Le fichier PDF (une facture ; défaut : facture-NUMÉRO.pdf ici) ou le dossier (un mois).",
        ),
    ] = None,
    month: Annotated[str | None, typer.Option("--month", help="Toutes les factures d'un mois, AAAA-MM.")] = None,
    regie: Annotated[str | None, common.regie_option("Le code de la régie (pop, alsh…).")] = None,
    regie_alias: RegieAlias = None,
    single: Annotated[bool, typer.Option("--single", help="Un seul PDF pour tout le mois.")] = False,
    processes: Annotated[
        int | None,
        typer.Option("--processes", min=1, max=16, help="Processus d'écriture (défaut : 2 pour un grand mois)."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Écrit le PDF d'une facture, ou ceux d'un mois d'une régie (un fichier par facture, ou --single)."""
    if number is not None and (month or regie):
        fail("Donnez soit un numéro de facture, soit --month et --regie, pas les deux.")
    if number is None and not (month and regie):
        fail("Donnez un numéro de facture, ou --month AAAA-MM et --regie CODE.")
    if number is not None:
        _one_pdf(number, out_path, db)
    else:
        assert month is not None and regie is not None
        _month_pdfs(month, regie, out_path, single=single, processes=processes, db=db)


def _one_pdf(number: str, out_path: Path | None, db: str | None) -> None:
    from regie_tui.db import session_scope
    from regie_tui.reports import write_new_file
    from regie_tui.reports.invoice_pdf import invoice_file_name, write_invoice_pdf
    from regie_tui.services.billing.document import invoice_document

    engine = common.desk().engine
    with session_scope(engine) as session:
        doc = invoice_document(session, number=number)
    path = out_path if out_path is not None else Path.cwd() / invoice_file_name(doc.number)
    if path.is_dir():
        path = path / invoice_file_name(doc.number)
    write_new_file(path, lambda file: write_invoice_pdf(doc, file))
    out.print(f"Facture {doc.number} écrite dans « {path} ».", highlight=False, markup=False)


def _month_pdfs(
    month: str, regie: str, out_path: Path | None, *, single: bool, processes: int | None, db: str | None
) -> None:
    import os

    from regie_tui.db import session_scope
    from regie_tui.reports import write_new_file
    from regie_tui.reports.invoice_pdf import write_invoice_files, write_month_pdf
    from regie_tui.services.billing.document import month_documents

    first = common.month(month)
    if out_path is None:
        fail("Donnez le dossier où écrire les factures : --out DOSSIER.")
    engine = common.desk().engine
    with session_scope(engine) as session:
        docs = month_documents(session, regie_code=regie.strip(), month=first)
    engine.dispose()  # no connection carried into the writing processes
    if not docs:
        fail(f"Aucune facture de la régie « {regie} » pour {first:%m/%Y}.")
    if single:
        path = out_path
        if out_path.suffix.lower() != ".pdf":
            path = out_path / f"factures-{regie.strip()}-{first:%Y-%m}.pdf"
        _make_folder(path.parent)
        write_new_file(path, lambda file: write_month_pdf(docs, file))
        out.print(f"{len(docs)} factures écrites dans « {path} ».", highlight=False, markup=False)
        return
    _make_folder(out_path)
    if processes is None:
        processes = min(2, os.cpu_count() or 1) if len(docs) >= PARALLEL_FROM else 1
    try:
        write_invoice_files(docs, out_path, processes=processes)
    except OSError as exc:
        fail(f"Impossible d'écrire dans « {out_path} » : {system_error(exc)}.")
    out.print(
        f"{len(docs)} factures écrites dans « {out_path} » ({docs[0].number} à {docs[-1].number}).",
        highlight=False,
        markup=False,
    )


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        fail(f"Impossible de créer le dossier « {folder} » : {system_error(exc)}.")


def _print_document(doc: "InvoiceDocument") -> None:
    """The invoice in the terminal, in the PDF's order."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from regie_tui import formatting
    from regie_tui.services.billing.document import quantity_text

    money = formatting.money

    def say(text: str, style: str = "") -> None:
        out.print(Text(text, style), soft_wrap=True, highlight=False)

    issuer = doc.issuer
    say(f"Facture n° {doc.number} — {doc.status_text}", "bold")
    say(f"{issuer.town} — {issuer.regie_name}")
    say(f"{issuer.address}, {issuer.postal_code} {issuer.city} — tél. {issuer.phone} — {issuer.email}")
    say(f"Facturé à : {doc.debtor_name}, {doc.debtor_address.replace(chr(10), ', ')}")
    say(
        f"Émise le {formatting.short_date(doc.issue_date)} — période {doc.period_text}"
        f" — échéance le {formatting.short_date(doc.due_date)}"
    )
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    table.add_column("Détail du calcul", overflow="fold")
    table.add_column("Qté", justify="right", no_wrap=True)
    table.add_column("Prix unit.", justify="right", no_wrap=True)
    table.add_column("Montant", justify="right", no_wrap=True)
    for child in doc.children:
        table.add_row(Text(child.name, "bold"), "", "", "")
        for line in child.lines:
            detail = f"  {line.text}"
            if line.dates:
                detail += f"\n    jours : {line.dates}"
            if line.basis:
                detail += f"\n    base : {line.basis}"
            table.add_row(detail, quantity_text(line.quantity), money(line.unit_price_cents), money(line.amount_cents))
        table.add_row(f"  Sous-total {child.name}", "", "", money(child.subtotal_cents))
    out.print(table)
    say(f"Total de la facture : {money(doc.total_cents)}", "bold")
    for credit in doc.credit_notes:
        say(f"Avoir n° {credit.number} du {formatting.short_date(credit.issue_date)} : -{money(credit.amount_cents)}")
    for paid in doc.payments:
        say(
            f"  reçu n° {paid.receipt_number} du {formatting.short_date(paid.received_on)} ({paid.mode_text}) :"
            f" {money(paid.amount_cents)}"
        )
    say(f"Déjà réglé : {money(-doc.paid_cents)}")  # as the PDF and the screen: taken off the total
    say(f"Reste à payer : {money(doc.balance_cents)}", "bold")
    say("")
    say("Comment régler", "bold")
    for text in doc.how_to_pay:
        say(text)
    say("")
    say(doc.appeal_notice)
