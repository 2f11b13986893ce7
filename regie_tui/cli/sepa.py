"""`regie sepa …`: mandates, the monthly direct-debit file (pain.008), and the debits returned unpaid.

The file of an export is written next to its destination first, the batch is committed,
then the file is renamed into place: a batch rolled back leaves no file, and a file whose
batch could not be committed is deleted.
"""

import dataclasses
import os
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from regie_tui import formatting
from regie_tui.cli import common
from regie_tui.cli.common import DbOption, JsonOption, RegieAlias, fail, french_errors, out, print_json
from regie_tui.errors import system_error

if TYPE_CHECKING:
    from regie_tui.services.payments.sepa.export import ExportSummary

sepa_app = typer.Typer(help="Prélèvement SEPA : mandats, fichier de prélèvements, rejets.", no_args_is_help=True)


@dataclasses.dataclass(frozen=True)
class Batch:
    """What an export debits: a régie's month, on a collection date, prepared today."""

    regie: str
    month: date
    collection_date: date
    today: date


@sepa_app.command("export")
@french_errors
def export(
    month: Annotated[str, typer.Option("--month", help="Mois facturé (AAAA-MM).")],
    regie: Annotated[str, common.regie_option("Code de la régie (pop, alsh…).")],
    collection_date: Annotated[
        str, typer.Option("--collection-date", help="Date de prélèvement (JJ/MM/AAAA ou AAAA-MM-JJ).")
    ],
    out_file: Annotated[Path | None, typer.Option("--out", help="Fichier pain.008 à écrire.")] = None,
    creditor_iban: Annotated[
        str, typer.Option("--creditor-iban", help="IBAN du compte crédité (par défaut celui de la régie).")
    ] = "",
    creditor_bic: Annotated[
        str, typer.Option("--creditor-bic", help="BIC du compte crédité (par défaut celui de la régie).")
    ] = "",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Montrer les prélèvements sans rien enregistrer.")] = False,
    regie_alias: RegieAlias = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Prélever les factures ouvertes du mois des familles ayant un mandat actif (fichier pain.008.001.02)."""
    from regie_tui import clock

    batch = Batch(regie, common.month(month), common.day(collection_date, "Date de prélèvement"), clock.today())
    if dry_run:
        _simulate(batch, as_json=as_json)
        return
    if out_file is None:
        fail("--out FICHIER obligatoire (ou --dry-run pour seulement voir les prélèvements).")
    if out_file.exists():
        fail(f"Le fichier {out_file} existe déjà : choisissez un autre nom.")
    if not out_file.parent.is_dir():
        fail(f"Le dossier {out_file.parent} n'existe pas.")
    summary = _write_batch(batch, out_file, creditor_iban=creditor_iban, creditor_bic=creditor_bic)
    if as_json:
        print_json({"file": str(out_file), **dataclasses.asdict(summary)})
        return
    _print_debits([(d.invoice_number, d.debtor_name, d.rum, d.sequence, d.amount_cents) for d in summary.debits])
    parts = ", ".join(
        f"{sequence} : {count} ({formatting.money(total)})" for sequence, (count, total) in summary.by_sequence.items()
    )
    out.print(
        f"Fichier {out_file} écrit : {summary.count} prélèvement(s), {formatting.money(summary.total_cents)}, "
        f"le {formatting.short_date(batch.collection_date)} ({parts}). Lot {summary.message_id}.",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


def _simulate(batch: Batch, *, as_json: bool) -> None:
    """The debits the export would make, nothing recorded."""
    from regie_tui.db import session_scope
    from regie_tui.services.payments.sepa.export import prepare_export

    with session_scope(common.desk().engine) as session:
        plan = prepare_export(
            session,
            regie_code=batch.regie,
            month=batch.month,
            collection_date=batch.collection_date,
            today=batch.today,
            agent_id=common.desk().agent.id,
        )
        session.rollback()
    if as_json:
        print_json({"dry_run": True, "total_cents": plan.total_cents, "debits": [vars(d) for d in plan.debits]})
        return
    if not plan.debits:
        out.print(
            f"Aucune facture à prélever pour {plan.regie_code} en {plan.month:%m/%Y} : pas de facture ouverte "
            "d'une famille ayant un mandat actif, hors prélèvements en cours.",
            highlight=False,
        )
        return
    _print_debits([(d.invoice_number, d.debtor_name, d.rum, d.sequence, d.amount_cents) for d in plan.debits])
    out.print(
        f"Simulation : {len(plan.debits)} prélèvement(s), {formatting.money(plan.total_cents)}, le "
        f"{formatting.short_date(batch.collection_date)} — rien n'est enregistré.",
        highlight=False,
    )


def _write_batch(batch: Batch, out_file: Path, *, creditor_iban: str, creditor_bic: str) -> "ExportSummary":
    """The batch recorded and its file written: beside ``out_file`` in the transaction, renamed
    into place once committed (no file without its batch, no batch without its file)."""
    from regie_tui.db import session_scope
    from regie_tui.reports.sepa_xml import export_file

    temporary = out_file.with_name(f".{out_file.name}.{os.getpid()}.tmp")
    try:
        with session_scope(common.desk().engine, write=True) as session:
            agent = common.desk().agent
            xml, summary = export_file(
                session,
                regie_code=batch.regie,
                month=batch.month,
                collection_date=batch.collection_date,
                today=batch.today,
                creditor_iban=creditor_iban,
                creditor_bic=creditor_bic,
                agent_id=agent.id,
            )
            try:
                temporary.write_bytes(xml)
            except OSError as error:
                fail(f"Impossible d'écrire {out_file} : {system_error(error)}. Rien n'a été enregistré.")
        # Committed: the file takes its name (same folder, an atomic rename).
        temporary.replace(out_file)
    finally:
        temporary.unlink(missing_ok=True)
    return summary


def _print_debits(rows: list[tuple[str, str, str, str, int]]) -> None:
    table = Table("Facture", "Débiteur", "RUM", "Séquence", "Montant")
    for number, debtor, rum, sequence, cents in rows:
        table.add_row(number, debtor, rum, sequence, formatting.money(cents))
    out.print(table)


@sepa_app.command("mandates")
@french_errors
def mandates(
    family_id: Annotated[int, common.id_argument("Numéro de la famille.")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Les mandats de prélèvement d'une famille."""
    from regie_tui import clock
    from regie_tui.db import session_scope
    from regie_tui.services.payments.sepa.mandates import family_mandates, family_payer, short_iban

    with session_scope(common.desk().engine) as session:
        family_payer(session, family_id=family_id)  # an unknown family is an error, not an empty list
        rows = family_mandates(session, family_id=family_id, today=clock.today())
    if as_json:
        print_json([{**vars(m), "iban": m.iban_masked, "state": m.state} for m in rows])
        return
    if not rows:
        out.print(f"Aucun mandat pour la famille n° {family_id}.", highlight=False)
        return
    for m in rows:  # one line each: the RUM is typed back, it is never cut
        used = f", dernier prélèvement le {formatting.short_date(m.last_used_on)}" if m.last_used_on else ""
        out.print(
            f"{m.rum} ({m.regie_code}) — {m.debtor_name} — {short_iban(m.iban)} {m.bic} — signé le "
            f"{formatting.short_date(m.signed_on)} — {m.next_sequence}{used} — {m.state}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )


@sepa_app.command("mandate-add")
@french_errors
def mandate_add(
    family_id: Annotated[int, common.id_argument("Numéro de la famille.")],
    regie: Annotated[str, common.regie_option("Code de la régie (pop, alsh…).")],
    iban: Annotated[str, typer.Option("--iban", help="IBAN du compte à prélever.")],
    signed: Annotated[str, typer.Option("--signed", help="Date de signature (JJ/MM/AAAA ou AAAA-MM-JJ).")],
    bic: Annotated[str, typer.Option("--bic", help="BIC de la banque (facultatif en zone SEPA).")] = "",
    name: Annotated[str, typer.Option("--name", help="Titulaire du compte (défaut : le payeur).")] = "",
    address: Annotated[str, typer.Option("--address", help="Adresse du titulaire (défaut : la famille).")] = "",
    one_off: Annotated[bool, typer.Option("--one-off", help="Mandat ponctuel (un seul prélèvement).")] = False,
    regie_alias: RegieAlias = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Enregistrer un mandat signé (il remplace le mandat actif de la famille pour la régie)."""
    from regie_tui import clock
    from regie_tui.db import session_scope
    from regie_tui.services.common.regies import regie_by_code
    from regie_tui.services.payments.sepa.mandates import create_mandate, family_payer

    signed_on = common.day(signed, "Date de signature")
    with session_scope(common.desk().engine, write=True) as session:
        agent = common.desk().agent
        payer, payer_address = family_payer(session, family_id=family_id)
        found = regie_by_code(session, code=regie)
        assert found.id is not None
        view = create_mandate(
            session,
            family_id=family_id,
            regie_id=found.id,
            debtor_name=name or payer,
            debtor_address=address or payer_address,
            iban=iban,
            bic=bic,
            signed_on=signed_on,
            recurrent=not one_off,
            agent_id=agent.id,
            today=clock.today(),
        )
    if as_json:
        print_json({**vars(view), "iban": view.iban_masked, "state": view.state})
        return
    out.print(
        f"Mandat {view.rum} enregistré : {view.debtor_name}, {view.iban_masked}, signé le "
        f"{formatting.short_date(view.signed_on)} ({'récurrent' if view.recurrent else 'ponctuel'}).",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


@sepa_app.command("mandate-revoke")
@french_errors
def mandate_revoke(
    rum: Annotated[str, typer.Argument(help="RUM du mandat.")],
    reason: Annotated[str, typer.Option("--reason", help="Motif (lettre de la famille, compte clos…).")],
    on: Annotated[str | None, typer.Option("--on", help="Date de la révocation (défaut : aujourd'hui).")] = None,
    db: DbOption = None,
) -> None:
    """Révoquer un mandat : il n'est plus prélevé."""
    from regie_tui.db import session_scope
    from regie_tui.services.payments.sepa.mandates import find_mandate, revoke_mandate

    day = common.day_or_today(on, "--on")
    with session_scope(common.desk().engine, write=True) as session:
        agent = common.desk().agent
        mandate = find_mandate(session, rum=rum)
        view = revoke_mandate(session, mandate_id=mandate.id, on=day, reason=reason, agent_id=agent.id)
    out.print(f"Mandat {view.rum} révoqué le {formatting.short_date(day)}.", highlight=False, markup=False)


@sepa_app.command("reject")
@french_errors
def reject(
    end_to_end: Annotated[str, typer.Argument(help="Référence de bout en bout du prélèvement (pop-F2610…-1).")],
    reason: Annotated[str, typer.Option("--reason", help="Code de rejet (AM04, AC04, MD01…) ou motif en clair.")],
    on: Annotated[str | None, typer.Option("--on", help="Date du rejet (défaut : aujourd'hui).")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Enregistrer un prélèvement revenu impayé : la facture est de nouveau due."""
    from regie_tui.db import session_scope
    from regie_tui.services.payments.sepa.returns import reject_debit

    day = common.day_or_today(on, "--on")
    with session_scope(common.desk().engine, write=True) as session:
        agent = common.desk().agent
        rejected = reject_debit(session, end_to_end_id=end_to_end, rejected_on=day, reason=reason, agent_id=agent.id)
    if as_json:
        print_json(rejected)
        return
    _print_rejected(rejected.end_to_end_id, rejected.invoice_number, rejected.amount_cents, rejected.reason)
    if rejected.mandate_revoked:
        out.print(f"Le mandat {rejected.mandate_rum} est révoqué.", highlight=False, markup=False)


def _print_rejected(end_to_end: str, number: str, cents: int, reason: str) -> None:
    out.print(
        f"Prélèvement {end_to_end} rejeté ({reason}) : la facture {number} est de nouveau due "
        f"({formatting.money(cents)}).",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


@sepa_app.command("rejects")
@french_errors
def rejects(
    file: Annotated[Path, typer.Argument(help="Rapport de la banque (pain.002.001.03).")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Importer les rejets d'un rapport de statut de la banque (pain.002)."""
    from regie_tui.db import session_scope
    from regie_tui.services.payments.sepa.returns import import_rejects

    try:
        data = file.read_bytes()
    except OSError as error:
        fail(f"Impossible de lire {file} : {system_error(error)}.")
    with session_scope(common.desk().engine, write=True) as session:
        agent = common.desk().agent
        imported = import_rejects(session, data=data, agent_id=agent.id)
    if as_json:
        print_json(imported)
        return
    for rejected in imported.rejected:
        _print_rejected(rejected.end_to_end_id, rejected.invoice_number, rejected.amount_cents, rejected.reason)
        if rejected.mandate_revoked:
            out.print(f"  Le mandat {rejected.mandate_rum} est révoqué.", highlight=False, markup=False)
    if imported.already:
        out.print(f"Déjà enregistrés : {', '.join(imported.already)}.", highlight=False, markup=False)
    if imported.unknown:
        out.print(f"Inconnus de la régie : {', '.join(imported.unknown)}.", highlight=False, markup=False)
    out.print(f"{len(imported.rejected)} rejet(s) enregistré(s).", highlight=False)
