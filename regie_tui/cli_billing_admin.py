"""`regie rates …` (tarifs) and `regie reminders …` (relances), registered on the main app by cli.py."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from regie_tui import cli
from regie_tui.cli import DbOption, JsonOption, fail, french_errors, out, print_json

if TYPE_CHECKING:
    from regie_tui.services.billing.rates import RateGrid, RateValue
    from regie_tui.services.billing.reminders import OverdueReport

rates_app = typer.Typer(help="Tarifs : grille par unité et tranche de quotient, changements (administrateurs).")
reminders_app = typer.Typer(help="Relances des factures impayées (30, 60, 90 jours) et lettres en PDF.")

DateOption = Annotated[
    str | None, typer.Option("--on", help="Date de la situation (JJ/MM/AAAA ou AAAA-MM-JJ ; défaut : aujourd'hui).")
]
ServiceOption = Annotated[
    str | None, typer.Option("--service", help="Code de la régie (par exemple pop ou alsh) ; défaut : toutes.")
]


# ---------------------------------------------------------------------- rates


def _cell_json(cell: "RateValue | None") -> dict[str, Any] | None:
    if cell is None:
        return None
    return {
        "rate_id": cell.id,
        "valid_from": cell.valid_from,
        "amount_cents": cell.amount_cents,
        "unbooked_surcharge_cents": cell.unbooked_surcharge_cents,
        "absence_penalty_cents": cell.absence_penalty_cents,
        "package_cents": cell.package_cents,
        "next_change": cell.next_from,
    }


def _grid_json(grid: "RateGrid") -> dict[str, Any]:
    return {
        "on": grid.on,
        "brackets": [{"id": b.id, "name": b.name} for b in grid.brackets],
        "units": [
            {
                "activity_id": row.activity_id,
                "activity": row.activity_name,
                "service": row.regie_code,
                "unit_id": row.unit_id,
                "unit": row.unit_name,
                "package": row.package,
                "invoiced_until": grid.locked_until.get(row.unit_id),
                "rates": {
                    bracket.name: _cell_json(cell) for bracket, cell in zip(grid.brackets, row.cells, strict=True)
                },
            }
            for row in grid.rows
        ],
    }


@rates_app.command("list")
@french_errors
def rates_list(on: DateOption = None, db: DbOption = None, as_json: JsonOption = False) -> None:
    """Affiche la grille des tarifs en vigueur à une date (unités × tranches de quotient)."""
    day = cli.day_or_today(on, "Date")
    from regie_tui import formatting
    from regie_tui.db import session_scope
    from regie_tui.services.billing.rates import rate_grid

    engine = cli.desk().engine
    with session_scope(engine) as session:
        grid = rate_grid(session, on=day)
    if as_json:
        print_json(_grid_json(grid))
        return

    # Plain lines that read at 80 columns: the unit, then its price per bracket (and its package's).
    def say(text: str) -> None:
        out.print(text, highlight=False, markup=False, soft_wrap=True)

    def prices(values: list[int | None]) -> str:
        return "".join(f"{formatting.money(v) if v is not None else '—':>11}" for v in values)

    say(f"Tarifs en vigueur le {formatting.short_date(day)}")
    say("      " + "".join(f"{b.name[:10]:>11}" for b in grid.brackets))
    for row in grid.rows:
        say(f"{row.unit_id:>4}  {row.activity_name} — {row.unit_name}")
        say("      " + prices([c.amount_cents if c else None for c in row.cells]))
        cells = [c for c in row.cells if c is not None]
        extras = {(c.unbooked_surcharge_cents, c.absence_penalty_cents) for c in cells}
        if len(extras) == 1 and (extra := extras.pop()) != (0, 0):
            say(f"      majoration {formatting.money(extra[0])} · pénalité {formatting.money(extra[1])}")
        elif len(extras) > 1:
            say("      majoration et pénalité selon la tranche : --json")
        if any(c.package_cents is not None for c in cells):
            say("      " + prices([c.package_cents if c else None for c in row.cells]) + f"  {row.package}")


@rates_app.command("set")
@french_errors
def rates_set(
    unit_id: Annotated[int, cli.id_argument("Numéro de l'unité (voir regie rates list).", metavar="UNITE")],
    bracket: Annotated[str, typer.Argument(metavar="TRANCHE", help="Tranche : son numéro ou son nom exact.")],
    valid_from: Annotated[str, typer.Option("--from", help="Date d'effet (JJ/MM/AAAA).")],
    amount: Annotated[str, typer.Option("--amount", help="Tarif, par exemple 4,15.")],
    surcharge: Annotated[
        str | None, typer.Option("--surcharge", help="Majoration sans réservation (défaut : inchangée, ou 0).")
    ] = None,
    penalty: Annotated[
        str | None, typer.Option("--penalty", help="Pénalité d'absence non justifiée (défaut : inchangée, ou 0).")
    ] = None,
    package: Annotated[
        str | None, typer.Option("--package", help="Prix du forfait par semaine (unités à forfait).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Fixe un tarif à partir d'une date, ou corrige celui qui commence ce jour-là (administrateurs)."""
    from regie_tui.services.common.validation import parse_money

    day = cli.day(valid_from, "Date d'effet")
    amount_cents = parse_money(amount, "Tarif", positive=False)
    surcharge_cents = parse_money(surcharge, "Majoration", positive=False) if surcharge is not None else None
    penalty_cents = parse_money(penalty, "Pénalité", positive=False) if penalty is not None else None
    package_cents = parse_money(package, "Forfait", positive=False) if package is not None else None

    from regie_tui import formatting
    from regie_tui.db import session_scope
    from regie_tui.services.billing.rates import find_bracket, rate_on, set_rate

    engine = cli.desk().engine
    with session_scope(engine, write=True) as session:
        agent = cli.desk().agent
        bracket_id = find_bracket(session, bracket)
        current = rate_on(session, unit_id=unit_id, bracket_id=bracket_id, day=day)
        if surcharge_cents is None:
            surcharge_cents = current.unbooked_surcharge_cents if current else 0
        if penalty_cents is None:
            penalty_cents = current.absence_penalty_cents if current else 0
        if package_cents is None and current is not None:
            package_cents = current.package_cents
        result = set_rate(
            session,
            unit_id=unit_id,
            bracket_id=bracket_id,
            valid_from=day,
            amount_cents=amount_cents,
            unbooked_surcharge_cents=surcharge_cents,
            absence_penalty_cents=penalty_cents,
            package_cents=package_cents,
            agent_id=agent.id,
        )
    rate = result.rate
    what = "Nouveau tarif" if result.created else "Tarif corrigé" if result.changed else "Tarif inchangé"
    until = f" jusqu'au changement du {formatting.short_date(rate.next_from)}" if rate.next_from else ""
    out.print(
        f"{what} : {result.unit_name} (unité {unit_id}), tranche {result.bracket_name}, "
        f"{formatting.money(rate.amount_cents)} à partir du {formatting.short_date(rate.valid_from)}{until}.",
        highlight=False,
        markup=False,
    )


# ------------------------------------------------------------------ reminders


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
    on: DateOption = None, service: ServiceOption = None, db: DbOption = None, as_json: JsonOption = False
) -> None:
    """Liste les factures échues depuis 30 jours ou plus, par ancienneté, avec la relance due."""
    day = cli.day_or_today(on, "Date")
    from regie_tui import formatting
    from regie_tui.db import session_scope
    from regie_tui.services.billing.reminders import overdue_invoices

    engine = cli.desk().engine
    with session_scope(engine) as session:
        report = overdue_invoices(session, on=day, regie_code=service)
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
    service: ServiceOption = None,
    db: DbOption = None,
) -> None:
    """Enregistre les relances dues et écrit leurs lettres en PDF (une page par facture)."""
    if bool(invoices) == (level is not None):
        fail("Indiquez soit des factures (--invoice), soit un niveau de relance (--level).")
    cli.refuse_repeated(invoices or [], "La facture {} est donnée plusieurs fois.")
    if out_file.exists():
        fail(f"Le fichier « {out_file} » existe déjà : choisissez un autre nom.")

    from regie_tui import clock
    from regie_tui.db import session_scope
    from regie_tui.reports import write_new_file
    from regie_tui.reports.reminder_pdf import reminders_pdf
    from regie_tui.services.billing.reminders import numbers_at_level, overdue_invoices, send_reminders

    day = clock.today()
    engine = cli.desk().engine
    with session_scope(engine, write=True) as session:
        agent = cli.desk().agent
        if level is not None:
            numbers = numbers_at_level(overdue_invoices(session, on=day, regie_code=service), level)
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
