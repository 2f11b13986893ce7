"""`regie reminders …`: the unpaid invoices by age (30, 60, 90 days), and the reminder letters in PDF."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from regie_tui.cli import common
from regie_tui.cli.common import DbOption, JsonOption, RegieAlias, fail, french_errors, out, print_json

if TYPE_CHECKING:
    from regie_tui.services.billing.reminders import OverdueReport

reminders_app = typer.Typer(help="Relances des factures impayées (30, 60, 90 jours) et lettres en PDF.")

DateOption = Annotated[
    str | None, typer.Option("--on", help="Date de la situation (JJ/MM/AAAA ou AAAA-MM-JJ ; défaut : aujourd'hui).")
]
RegieOption = Annotated[
    str | None, common.regie_option("Code de la régie (par exemple pop ou alsh) ; défaut : toutes.")
]


def _report_json(report: "OverdueReport") -> dict[str, Any]:
    return {
        "on": report.on,
        "buckets": [
            {"code": b.code, "label": b.label, "count": b.count, "total_cents": b.total_cents} for b in report.buckets
        ],
        "invoices": [
            {
                "number": i.number,
                "service": i.regie_code,
                "family_id": i.family_id,
                "family": i.family_name,
                "debtor": i.debtor_name,
                "due_date": i.due_date,
                "age_days": i.age_days,
                "total_cents": i.total_cents,
                "paid_cents": i.paid_cents,
                "balance_cents": i.balance_cents,
                "level_due": i.level_due,
                "last_level": i.last_level,
                "last_sent_on": i.last_sent_on,
                "to_send": i.to_send,
            }
            for i in report.invoices
        ],
    }


@reminders_app.command("list")
@french_errors
def reminders_list(
    on: DateOption = None,
    regie: RegieOption = None,
    regie_alias: RegieAlias = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Liste les factures échues depuis 30 jours ou plus, par ancienneté, avec la relance due."""
    day = common.day_or_today(on, "Date")
    from regie_tui import formatting
    from regie_tui.db import session_scope
    from regie_tui.services.billing.reminders import overdue_invoices

    engine = common.desk().engine
    with session_scope(engine) as session:
        report = overdue_invoices(session, on=day, regie_code=regie)
    if as_json:
        print_json(_report_json(report))
        return
    out.print(f"Factures impayées au {formatting.short_date(day)}", highlight=False)
    for bucket in report.buckets:
        out.print(
            f"  {bucket.label} : {bucket.count} facture{'s' if bucket.count > 1 else ''}, "
            f"{formatting.money(bucket.total_cents)}",
            highlight=False,
        )
    if not report.invoices:
        out.print("Aucune facture à relancer.", highlight=False)
        return
    # One line per invoice, whole numbers (they are typed into `regie reminders send`), at 80 columns.
    out.print("Facture         Famille          Échéance   Jours     Solde dû  Relance", highlight=False)
    for i in report.invoices:
        level = f"n° {i.level_due}" + ("" if i.to_send else " envoyée")
        out.print(
            f"{i.number:<15} {i.family_name[:16]:<16} {formatting.short_date(i.due_date)} {i.age_days:>5} "
            f"{formatting.money(i.balance_cents):>12}  {level}",
            highlight=False,
            soft_wrap=True,
        )


@reminders_app.command("send")
@french_errors
def reminders_send(
    out_file: Annotated[Path, typer.Option("--out", help="Fichier PDF des lettres (nouveau fichier).")],
    invoices: Annotated[
        list[str] | None, typer.Option("--invoice", help="Numéro de facture (option répétable).")
    ] = None,
    level: Annotated[
        int | None, typer.Option("--level", min=1, max=3, help="Toutes les factures dont la relance due est ce niveau.")
    ] = None,
    regie: RegieOption = None,
    regie_alias: RegieAlias = None,
    db: DbOption = None,
) -> None:
    """Enregistre les relances dues et écrit leurs lettres en PDF (une page par facture)."""
    if bool(invoices) == (level is not None):
        fail("Indiquez soit des factures (--invoice), soit un niveau de relance (--level).")
    common.refuse_repeated(invoices or [], "La facture {} est donnée plusieurs fois.")
    if out_file.exists():
        fail(f"Le fichier « {out_file} » existe déjà : choisissez un autre nom.")

    from regie_tui import clock
    from regie_tui.db import session_scope
    from regie_tui.reports import write_new_file
    from regie_tui.reports.reminder_pdf import reminders_pdf
    from regie_tui.services.billing.reminders import numbers_at_level, overdue_invoices, send_reminders

    day = clock.today()
    engine = common.desk().engine
    with session_scope(engine, write=True) as session:
        agent = common.desk().agent
        if level is not None:
            numbers = numbers_at_level(overdue_invoices(session, on=day, regie_code=regie), level)
            if not numbers:
                fail(f"Aucune relance n° {level} à envoyer.")
        else:
            numbers = list(invoices or [])
        sent = send_reminders(session, invoice_numbers=numbers, on=day, agent_id=agent.id)
        if not sent.letters:
            fail(f"Relances déjà envoyées pour {', '.join(sent.skipped)} : rien à imprimer.")
        write_new_file(out_file, reminders_pdf(sent.letters))  # in the transaction: no letter, no reminder recorded
    count = len(sent.letters)
    out.print(
        f"{count} lettre{'s' if count > 1 else ''} de relance écrite{'s' if count > 1 else ''} dans « {out_file} ».",
        highlight=False,
        markup=False,
    )
    if sent.skipped:
        out.print(f"Déjà envoyées (ignorées) : {', '.join(sent.skipped)}.", highlight=False, markup=False)
