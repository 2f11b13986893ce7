"""Mandats SEPA of a family: the list (RUM, régie, account, sequence, lapse, state), a new one, a revocation."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Header, Static

from regie_tui import formatting, workers
from regie_tui.errors import RegieError
from regie_tui.screens.base import RegieScreen
from regie_tui.screens.dialogs import TextPrompt
from regie_tui.screens.family.form import FamilyForm, FormField

if TYPE_CHECKING:
    from regie_tui.services.payments.sepa.mandates import MandateView
    from regie_tui.workers import Db


def _short(day: date | None) -> str:
    """'05/12/26': dates fit the list at 80 columns."""
    return f"{day:%d/%m/%y}" if day else ""


def _short_state(m: MandateView) -> str:
    """Actif, Révoqué, Caduc or Utilisé: the list's column (the line below says when)."""
    if m.revoked_on is not None:
        return "Révoqué"
    if m.active:
        return "Actif"
    return "Utilisé" if not m.recurrent and m.last_used_on is not None else "Caduc"


def _check_iban(value: str) -> str:
    from regie_tui.services.common.validation import check_iban

    return check_iban(value)


def _check_bic(value: str) -> str:
    from regie_tui.services.common.validation import check_bic

    return check_bic(value)


def _check_date(value: str) -> date:
    from regie_tui.services.common.validation import parse_date

    return parse_date(value, "Date de signature")


def _check_required(label: str) -> Any:
    def check(value: str) -> str:
        from regie_tui.services.common.validation import check_required

        return check_required(value, label)

    return check


class MandatesScreen(RegieScreen):
    """The family's mandates, newest first; n records a signed one, r revokes the one under the cursor."""

    HELP_TITLE = "Mandats SEPA"
    BINDINGS: ClassVar = [
        Binding("n", "new", "Nouveau mandat", id="mandates-new", tooltip="Enregistrer un mandat signé"),
        Binding("r", "revoke", "Révoquer", id="mandates-revoke", tooltip="Révoquer le mandat sélectionné"),
        Binding("escape", "back", "Retour", id="mandates-back", tooltip="Revenir à la fiche famille"),
    ]
    CSS_PATH = "mandates.tcss"

    def __init__(self, family_id: int) -> None:
        super().__init__()
        self.family_id = family_id
        self.rows: list[MandateView] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="mandates-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="mandates-detail", markup=False)
        yield Static("", id="mandates-status")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"Mandats SEPA — famille n° {self.family_id}"
        # At 80 columns: all but the BIC (to the right); the line below the list says everything.
        self.table.add_columns("RUM", "Régie", "État", "Séq.", "IBAN", "Signé", "Dernier", "Caduc le", "BIC")
        self.table.focus()
        self.refresh_rows()

    @property
    def table(self) -> DataTable[str]:
        return self.query_one("#mandates-table", DataTable)

    def refresh_rows(self, keep: int | None = None) -> None:
        family_id, today = self.family_id, self.desk.today

        def query(session: Db) -> list[MandateView]:
            from regie_tui.services.payments.sepa.mandates import family_mandates

            return family_mandates(session, family_id=family_id, today=today)

        self.load(query, lambda rows: self._show(rows, keep))

    def _show(self, rows: list[MandateView], keep: int | None = None) -> None:
        from regie_tui.services.payments.sepa.mandates import short_iban

        self.rows = rows
        table = self.table
        table.clear()
        for m in rows:
            table.add_row(
                m.rum,
                m.regie_code,
                _short_state(m),
                m.next_sequence,
                short_iban(m.iban),
                _short(m.signed_on),
                _short(m.last_used_on),
                _short(m.lapses_on) if m.revoked_on is None else "",
                m.bic or "—",
                key=str(m.id),
            )
        if keep is not None:
            index = next((i for i, m in enumerate(rows) if m.id == keep), None)
            if index is not None:
                table.move_cursor(row=index)
        active = sum(1 for m in rows if m.active)
        text = (
            f"{len(rows)} mandat(s), {active} actif(s) · n : nouveau · r : révoquer"
            if rows
            else "Aucun mandat de prélèvement · n : enregistrer un mandat signé"
        )
        self.query_one("#mandates-status", Static).update(text)
        self._detail()

    def current(self) -> MandateView | None:
        row = self.table.cursor_row
        return self.rows[row] if self.rows and 0 <= row < len(self.rows) else None

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._detail()

    def _detail(self) -> None:
        m = self.current()
        text = ""
        if m is not None:
            kind = "récurrent" if m.recurrent else "ponctuel"
            used = formatting.short_date(m.last_used_on) if m.last_used_on else "jamais"
            text = (
                f"{m.rum} ({m.regie_name}, {kind}) — {m.debtor_name}, {m.debtor_address}\n"
                f"{m.iban_masked}  BIC {m.bic or 'non fourni'} — signé le {formatting.short_date(m.signed_on)}\n"
                f"{m.state} — prochain prélèvement {m.next_sequence}, dernier : {used}"
                + ("" if m.revoked_on else f", caduc le {formatting.short_date(m.lapses_on)} s'il n'est pas utilisé")
            )
        self.query_one("#mandates-detail", Static).update(text)

    def action_back(self) -> None:
        self.app.pop_screen()

    # ----------------------------------------------------------------- a new mandate

    def action_new(self) -> None:
        family_id = self.family_id

        def query(session: Db) -> tuple[tuple[str, str], list[tuple[int, str, str]]]:
            from regie_tui.services.payments.sepa.mandates import family_payer, mandate_regies

            return family_payer(session, family_id=family_id), mandate_regies(session)

        self.load(query, self._open_form)

    def _open_form(self, data: tuple[tuple[str, str], list[tuple[int, str, str]]]) -> None:
        (payer, address), regies = data
        if not regies:
            self.notify("Aucune régie n'a d'identifiant créancier SEPA (ICS).", severity="error", timeout=8)
            return
        agent = self.desk.agent
        agent_id = agent.id if agent is not None else None
        today, family_id = self.desk.today, self.family_id
        fields = [
            FormField(
                "regie",
                "Régie",
                "choice",
                value=regies[0][0],
                choices=[(f"{code} – {name}", regie_id) for regie_id, code, name in regies],
            ),
            FormField("debtor_name", "Titulaire du compte", value=payer, check=_check_required("Titulaire du compte")),
            FormField("debtor_address", "Adresse", value=address, check=_check_required("Adresse du titulaire")),
            FormField("iban", "IBAN", check=_check_iban, placeholder="FR76 …"),
            FormField("bic", "BIC (facultatif)", check=_check_bic, max_length=11),
            FormField("signed_on", "Signé le", "date", value=formatting.short_date(today), check=_check_date),
            FormField("one_off", "Ponctuel", "bool", value=False),
        ]

        replaced: list[bool] = []  # whether the new mandate replaced an active one (set by save)

        def save(session: Db, values: dict[str, Any]) -> int:
            from regie_tui.services.payments.sepa.mandates import active_mandate, create_mandate

            if not values["regie"]:
                raise RegieError("Choisissez la régie du mandat.")
            regie_id = int(values["regie"])
            replaced.append(active_mandate(session, family_id=family_id, regie_id=regie_id, on=today) is not None)
            view = create_mandate(
                session,
                family_id=family_id,
                regie_id=regie_id,
                debtor_name=values["debtor_name"],
                debtor_address=values["debtor_address"],
                iban=values["iban"],
                bic=values["bic"],
                signed_on=_check_date(values["signed_on"]),
                recurrent=not values["one_off"],
                agent_id=agent_id,
                today=today,
            )
            return view.id

        def closed(saved: object) -> None:
            if saved is True:
                also = " : il remplace le mandat actif de la régie" if replaced and replaced[-1] else ""
                self.notify(f"Mandat enregistré{also}.", timeout=5)
                self.refresh_rows()

        self.app.push_screen(FamilyForm("Nouveau mandat de prélèvement SEPA", fields, save), closed)

    # ----------------------------------------------------------------- revocation

    def action_revoke(self) -> None:
        m = self.current()
        if m is None:
            return
        if m.revoked_on is not None:
            self.notify(f"Le mandat {m.rum} est déjà révoqué.", severity="warning", timeout=5)
            return
        mandate_id, rum = m.id, m.rum
        agent = self.desk.agent
        agent_id = agent.id if agent is not None else None
        today = self.desk.today

        def typed(reason: str | None) -> None:
            if reason is None:
                return
            if not reason.strip():
                self.notify("Motif de la révocation obligatoire.", severity="error", timeout=6)
                return

            def work(session: Db) -> int:
                from regie_tui.services.payments.sepa.mandates import revoke_mandate

                return revoke_mandate(
                    session, mandate_id=mandate_id, on=today, reason=reason, agent_id=agent_id, today=today
                ).id

            def done(kept: int) -> None:
                self.notify(f"Mandat {rum} révoqué le {formatting.short_date(today)}.", timeout=5)
                self.refresh_rows(keep=kept)

            def refused(message: str) -> None:
                self.notify(message, title="Révocation impossible", severity="error", timeout=10)

            workers.write(self, work, done, on_error=refused)

        self.app.push_screen(TextPrompt(f"Révoquer le mandat {rum} : motif", ""), typed)
