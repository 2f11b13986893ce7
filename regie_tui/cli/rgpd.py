"""`regie rgpd …`: a family's data exported (JSON, PDF, its documents); archived families anonymised."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from regie_tui.cli import common
from regie_tui.cli.common import DbOption, JsonOption, french_errors, print_json, say

if TYPE_CHECKING:
    from regie_tui.services.families.rgpd_purge import PurgeResult

rgpd_app = typer.Typer(
    help="Droits RGPD : export des données d'une famille, anonymisation des familles archivées.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

#: What a purge removes or blanks, and what it keeps, in French (services/families/rgpd.py counts them).
REMOVED_LABELS = {
    "guardians": "responsable(s) supprimé(s)",
    "children": "enfant(s) anonymisé(s)",
    "authorized_persons": "personne(s) autorisée(s)",
    "health_notes": "information(s) sanitaire(s)",
    "diets": "régime(s)",
    "documents": "document(s)",
    "stored_files": "fichier(s)",
    "messages": "message(s) effacé(s)",
    "mails": "courriel(s)",
    "submissions": "demande(s) du portail",
    "portal_accounts": "compte(s) du portail",
    "mandates": "mandat(s) SEPA anonymisé(s)",
}
KEPT_LABELS = {
    "invoices": "facture(s)",
    "credit_notes": "avoir(s)",
    "payments": "règlement(s)",
    "allocations": "affectation(s)",
    "bookings": "réservation(s)",
}
TRAIL_HELP = "L'historique garde ses entrées passées (champs, dates, valeurs d'alors) : trace légale, jamais réécrite."
TRAIL_NOTE = (
    "L'historique du dossier garde ses entrées passées (noms des champs, dates et valeurs) : "
    "c'est la trace légale des modifications, jamais réécrite."
)


@rgpd_app.command("export")
@french_errors
def export(
    family_id: Annotated[int, common.id_argument("Numéro de la famille.", metavar="FAMILLE")],
    out_dir: Annotated[
        Path, typer.Option("--out", help="Dossier où écrire l'export (créé au besoin, sans rien écraser).")
    ],
    db: DbOption = None,
) -> None:
    """Exporte tout ce que la régie détient sur une famille : JSON, PDF et documents (accueil, administrateur)."""
    from regie_tui import clock
    from regie_tui.db import session_scope
    from regie_tui.reports.rgpd_folder import write_family_export
    from regie_tui.services.families.rgpd_export import family_export

    desk = common.desk()
    now = clock.now()
    with session_scope(desk.engine, write=True) as session:  # the export's audit entry
        found = family_export(session, family_id=family_id, agent=desk.agent, now=now)
        # Written before the commit: no export on disk, no audit entry (and the other way round).
        write_family_export(found, out_dir, printed_at=now)
    say(f"Export RGPD de la famille {found.family_name} (n° {found.family_id}) écrit dans « {out_dir} » :")
    say(f"  {found.names.json} (toutes les données)")
    say(f"  {found.names.pdf} (lecture)")
    if found.files:
        say(f"  {found.names.documents}/ ({len(found.files)} document(s))")


@rgpd_app.command("purge", epilog=TRAIL_HELP)
@french_errors
def purge_command(
    before_text: Annotated[
        str,
        typer.Option(
            "--before", help="Date (AAAA-MM-JJ ou JJ/MM/AAAA) : anonymise les familles sans activité depuis ce jour."
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Liste les familles concernées sans rien modifier.")
    ] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Anonymise les familles archivées sans activité depuis une date, factures et règlements gardés (admin)."""
    from regie_tui import clock
    from regie_tui.db import session_scope
    from regie_tui.services.common.validation import parse_date
    from regie_tui.services.families.rgpd_purge import purge

    before = parse_date(before_text, "Date")
    desk = common.desk()
    with session_scope(desk.engine, write=not dry_run) as session:
        done = purge(session, before=before, agent=desk.agent, today=clock.today(), dry_run=dry_run)
    if as_json:
        print_json(_purge_json(done))
    else:
        _print_purge(done)


def _purge_json(done: "PurgeResult") -> dict[str, Any]:
    """The purge for scripts; a family's former name only in a dry run (nothing personal in a run's log)."""
    return {
        "before": done.before.isoformat(),
        "dry_run": done.dry_run,
        "count": len(done.families),
        "kept_owing": [{"id": family_id, "balance_cents": cents} for family_id, cents in done.owing],
        "families": [
            {
                "id": f.id,
                **({"name": f.name} if done.dry_run else {}),
                "archived_at": f.archived_at.isoformat(),
                "removed": f.removed,
                "kept": f.kept,
            }
            for f in done.families
        ],
    }


def _counts(counts: dict[str, int], labels: dict[str, str]) -> str:
    return ", ".join(f"{counts[k]} {text}" for k, text in labels.items() if counts.get(k)) or "rien"


def _print_purge(done: "PurgeResult") -> None:
    from regie_tui import formatting

    since = formatting.short_date(done.before)
    for family_id, cents in done.owing:
        say(f"  n° {family_id} gardée : solde dû {formatting.money(cents)} (la dette se recouvre auprès d'elle)")
    if not done.families:
        say(f"Aucune famille archivée, sans activité depuis le {since} et sans solde dû.")
        return
    if done.dry_run:
        say(f"Simulation, rien n'est modifié : {len(done.families)} famille(s) sans activité depuis le {since}.")
    else:
        say(f"{len(done.families)} famille(s) anonymisée(s) : sans activité depuis le {since}.")
    for f in done.families:
        who = f"n° {f.id} {f.name}" if done.dry_run else f"n° {f.id} → ANONYMISÉ-{f.id}"
        say(f"  {who} (archivée le {formatting.local_datetime(f.archived_at)})")
        say(f"    retiré : {_counts(f.removed, REMOVED_LABELS)}")
        say(f"    gardé : {_counts(f.kept, KEPT_LABELS)}")
    say(TRAIL_NOTE)
