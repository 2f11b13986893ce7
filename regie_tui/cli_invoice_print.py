"""`regie invoices show NUMBER` and `regie invoices pdf …`: the invoice as the family reads it."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from regie_tui import cli
from regie_tui.cli import DbOption, JsonOption, fail, french_errors, out, print_json
from regie_tui.cli_invoices import invoices_app
from regie_tui.errors import system_error

if TYPE_CHECKING:
    from regie_tui.services.billing.document import InvoiceDocument

#: Below this many invoices one process is faster than starting a second one.
PARALLEL_FROM = 400


@invoices_app.command("show")
@french_errors
def show_command(
    number: Annotated[str, typer.Argument(metavar="NUMÉRO", help="Le numéro de la facture (pop-F261000001).")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Affiche une facture comme son PDF : lignes par enfant, total, déjà réglé, reste à payer, comment régler."""
    from regie_tui.db import session_scope
    from regie_tui.services.billing.document import as_json as document_json
    from regie_tui.services.billing.document import invoice_document

    engine = cli.desk().engine
    with session_scope(engine) as session:
        doc = invoice_document(session, number=number)
    if as_json:
        print_json(document_json(doc))
    else:
        _print(doc)


@invoices_app.command("pdf")
@french_errors
def pdf_command(
    number: Annotated[
        str | None, typer.Argument(metavar="NUMÉRO", help="Le numéro de la facture (ou --month et --service).")
    ] = None,
    out_path: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Le fichier PDF (une facture ; défaut : facture-NUMÉRO.pdf ici) ou le dossier (un mois).",
        ),
    ] = None,
    month: Annotated[str | None, typer.Option("--month", help="Toutes les factures d'un mois, AAAA-MM.")] = None,
    service: Annotated[str | None, typer.Option("--service", help="Le code de la régie (pop, alsh…).")] = None,
    single: Annotated[bool, typer.Option("--single", help="Un seul PDF pour tout le mois.")] = False,
    processes: Annotated[
        int | None,
        typer.Option("--processes", min=1, max=16, help="Processus d'écriture (défaut : 2 pour un grand mois)."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Écrit le PDF d'une facture, ou ceux d'un mois d'une régie (un fichier par facture, ou --single)."""
    if number is not None and (month or service):
        fail("Donnez soit un numéro de facture, soit --month et --service, pas les deux.")
    if number is None and not (month and service):
        fail("Donnez un numéro de facture, ou --month AAAA-MM et --service CODE.")
    if number is not None:
        _one_pdf(number, out_path, db)
    else:
        assert month is not None and service is not None
        _month_pdfs(month, service, out_path, single=single, processes=processes, db=db)


def _one_pdf(number: str, out_path: Path | None, db: str | None) -> None:
    from regie_tui.db import session_scope
    from regie_tui.reports import write_new_file
    from regie_tui.reports.invoice_pdf import invoice_file_name, write_invoice_pdf
    from regie_tui.services.billing.document import invoice_document

    engine = cli.desk().engine
    with session_scope(engine) as session:
        doc = invoice_document(session, number=number)
    path = out_path if out_path is not None else Path.cwd() / invoice_file_name(doc.number)
    if path.is_dir():
        path = path / invoice_file_name(doc.number)
    write_new_file(path, lambda file: write_invoice_pdf(doc, file))
    out.print(f"Facture {doc.number} écrite dans « {path} ».", highlight=False, markup=False)


def _month_pdfs(
    month: str, service: str, out_path: Path | None, *, single: bool, processes: int | None, db: str | None
) -> None:
    import os

    from regie_tui.db import session_scope
    from regie_tui.reports import write_new_file
    from regie_tui.reports.invoice_pdf import write_invoice_files, write_month_pdf
    from regie_tui.services.billing.document import month_documents

    first = cli.month(month)
    if out_path is None:
        fail("Donnez le dossier où écrire les factures : --out DOSSIER.")
    engine = cli.desk().engine
    with session_scope(engine) as session:
        docs = month_documents(session, regie_code=service.strip(), month=first)
    engine.dispose()  # no connection carried into the writing processes
    if not docs:
        fail(f"Aucune facture du service « {service} » pour {first:%m/%Y}.")
    if single:
        path = out_path
        if out_path.suffix.lower() != ".pdf":
            path = out_path / f"factures-{service.strip()}-{first:%Y-%m}.pdf"
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


def _print(doc: "InvoiceDocument") -> None:
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
