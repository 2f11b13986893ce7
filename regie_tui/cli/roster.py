"""`regie roster DATE --activity ID [--pdf FILE]`: the pointage roster."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from regie_tui.cli import common
from regie_tui.cli.common import DbOption, JsonOption, fail, french_errors, out, print_json

if TYPE_CHECKING:
    from regie_tui.services.bookings.attendance import Roster


@french_errors
def roster_command(
    day_text: Annotated[str, typer.Argument(metavar="DATE", help="Le jour (AAAA-MM-JJ ou JJ/MM/AAAA).")],
    activity: Annotated[int, common.id_option("--activity", "Numéro de l'activité.")],
    pdf: Annotated[
        Path | None, typer.Option("--pdf", help="Écrit aussi la feuille de présence en PDF dans ce fichier.")
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Affiche la liste de pointage d'une activité un jour donné (et sa feuille de présence)."""
    day = common.day(day_text, "Date")
    if pdf is not None and pdf.exists():
        fail(f"Le fichier « {pdf} » existe déjà : choisissez un autre nom.")

    from regie_tui import clock
    from regie_tui.db import session_scope
    from regie_tui.services.bookings.attendance import roster, town_name

    engine = common.desk().engine
    with session_scope(engine) as session:
        agent = common.desk().agent
        sheet = roster(session, activity_id=activity, day=day, agent=agent)
        town = town_name(session)
    if pdf is not None:
        from regie_tui.reports import write_new_file
        from regie_tui.reports.roster_pdf import roster_pdf

        write_new_file(pdf, roster_pdf(sheet, town_name=town, printed_at=clock.now()))
    if as_json:
        print_json(_as_json(sheet))
    else:
        _print(sheet)
    if pdf is not None and not as_json:
        out.print(f"Feuille de présence écrite dans « {pdf} ».", highlight=False, markup=False)


def _as_json(sheet: "Roster") -> dict[str, Any]:
    return {
        "activity_id": sheet.activity_id,
        "activity": sheet.activity_name,
        "facility": sheet.facility_name,
        "day": sheet.day.isoformat(),
        "closed_reason": sheet.closed_reason,
        "units": [
            {
                "id": unit.id,
                "name": unit.name,
                "hours": unit.hours,
                "totals": {
                    "booked": unit.totals.booked,
                    "present": unit.totals.present,
                    "special": unit.totals.special,
                    "absent_justified": unit.totals.absent_justified,
                    "absent_unjustified": unit.totals.absent_unjustified,
                    "not_pointed": unit.totals.not_pointed,
                },
                "lines": [
                    {
                        "child_id": line.child_id,
                        "first_name": line.first_name,
                        "last_name": line.last_name,
                        "family_id": line.family_id,
                        "family": line.family_name,
                        "group": line.group_name,
                        "state": line.state.value,
                        "diets": list(line.diets),
                        "health": list(line.health),
                        "collectors": list(line.collectors),
                    }
                    for line in unit.lines
                ],
            }
            for unit in sheet.units
        ],
    }


def _print(sheet: "Roster") -> None:
    """One line per child, long cells cut with "…" to the terminal's width (80 columns when piped)."""
    from rich import box
    from rich.text import Text

    from regie_tui import formatting
    from regie_tui.codes import BookingState

    STATE_WORDS = {  # short, as the Pointage screen says them
        BookingState.RESERVED: "à pointer",
        BookingState.PRESENT: "présent",
        BookingState.PRESENT_SPECIAL: "prés. spéciale",
        BookingState.ABSENT_JUSTIFIED: "abs. justifiée",
        BookingState.ABSENT_UNJUSTIFIED: "abs. non just.",
    }

    def say(text: str, style: str = "") -> None:
        out.print(Text(text, style), soft_wrap=True, highlight=False)

    say(f"{sheet.activity_name} — {sheet.facility_name} — {formatting.long_date(sheet.day)}", "bold")
    if sheet.closed_reason:
        say(f"Attention : {sheet.closed_reason}")
    for unit in sheet.units:
        say("")
        say(f"{unit.name} ({unit.hours})", "bold")
        rows = [
            (
                line.child_name,
                line.group_name,
                STATE_WORDS.get(line.state, line.state.value),
                ", ".join(line.diets + line.health),
                ", ".join(line.collectors),
            )
            for line in unit.lines
        ]
        # Widths from the content, capped; the notes and the collectors share what is left of
        # the line (3 columns between two columns), the collectors the larger part.
        heads = ("Enfant", "Groupe", "Pointage", "Régime / santé", "Peut le chercher")
        natural = [max([len(head), *(len(row[i]) for row in rows)]) for i, head in enumerate(heads)]
        widths = [min(natural[0], 20), min(natural[1], 11), natural[2]]
        rest = out.width - sum(widths) - 3 * (len(heads) - 1)
        notes = min(natural[3], max(10, rest // 3, rest - natural[4]))
        widths += [notes, max(10, min(natural[4], rest - notes))]
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
        for head, width in zip(heads, widths, strict=True):
            table.add_column(head, no_wrap=True, overflow="ellipsis", width=width)
        for row in rows:
            table.add_row(*row)
        if unit.lines:
            out.print(table)
        else:
            say("Aucun enfant réservé.")
        say(f"Totaux : {unit.totals.text()}")
