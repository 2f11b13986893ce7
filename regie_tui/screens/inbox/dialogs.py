"""The bannette's dialogs: a refusal's reason, a reply to a message, a document's validity;
and the choices offered when accepting needs one."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from regie_tui import formatting

if TYPE_CHECKING:
    from regie_tui.services.portal.inbox.accepting import NeedsChoice
    from regie_tui.services.portal.inbox.item import DocumentInfo, ItemDetail
    from regie_tui.services.portal.inbox.templates import Template


def choice_options(needs: NeedsChoice, detail: ItemDetail | None) -> list[tuple[str, str]]:
    """(value, French label) of what the agent may do when accepting needs a choice:
    "force", "waiting_list", "group:<id>" (a group the child's age fits), "refuse"."""
    options: list[tuple[str, str]] = []
    if "force" in needs.options:
        options.append(("force", f"Appliquer la demande ({needs.asked})" if needs.now else needs.asked.capitalize()))
    if "waiting_list" in needs.options:
        options.append(("waiting_list", "Inscrire sur liste d'attente"))
    if "group" in needs.options and detail is not None and detail.enrollment is not None:
        for group in detail.enrollment.groups:
            if group.age_fits:
                places = "" if group.places_left is None else f", {group.places_left} place(s)"
                options.append(
                    (f"group:{group.id}", f"Groupe {group.name} ({group.min_age}-{group.max_age} ans{places})")
                )
    options.append(("refuse", "Refuser la demande…"))
    return options


class RefuseDialog(ModalScreen[tuple[str, bool] | None]):
    """The refusal's reason: a template picked in the list, or typed (required).

    Returns (reason, keep as a template)."""

    CSS_PATH = "inbox.tcss"
    BINDINGS = [
        Binding("escape", "cancel", "Annuler"),
        Binding("ctrl+t", "keep", "Refuser et garder comme modèle", tooltip="Le motif tapé devient un modèle"),
    ]

    def __init__(self, summary: str, templates: list[Template]) -> None:
        super().__init__()
        self.summary, self.templates = summary, templates

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(f"Refuser : {escape(self.summary)}", classes="dialog-title")
            yield OptionList(*(Option(t.text, id=str(t.id)) for t in self.templates), id="refuse-templates")
            yield Input(placeholder="Motif (obligatoire) : choisir un modèle ou taper", id="refuse-reason")
            yield Static(
                "Entrée sur un modèle : le reprendre · Entrée dans le motif : refuser · "
                "ctrl+t : refuser et garder le motif comme modèle · Échap : annuler",
                classes="dialog-hint",
            )

    @on(OptionList.OptionSelected)
    def _template(self, event: OptionList.OptionSelected) -> None:
        reason = self.query_one("#refuse-reason", Input)
        reason.value = str(event.option.prompt)
        reason.focus()

    def _finish(self, keep: bool) -> None:
        reason = self.query_one("#refuse-reason", Input).value.strip()
        if not reason:
            self.notify("Motif obligatoire pour refuser.", severity="warning")
            return
        self.dismiss((reason, keep))

    @on(Input.Submitted)
    def _submitted(self, _: Input.Submitted) -> None:
        self._finish(keep=False)

    def action_keep(self) -> None:
        self._finish(keep=True)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ReplyDialog(ModalScreen[str | None]):
    """A reply's text, several lines; ctrl+s sends it (through the outbox)."""

    CSS_PATH = "inbox.tcss"
    BINDINGS = [
        Binding("escape", "cancel", "Annuler"),
        Binding("ctrl+s", "send", "Envoyer", tooltip="Mettre la réponse en boîte d'envoi"),
    ]

    def __init__(self, title: str, original: str) -> None:
        super().__init__()
        self.title_text, self.original = title, original

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(escape(self.title_text), classes="dialog-title")
            yield Static(escape(self.original), id="reply-original")
            yield TextArea(id="reply-body")
            yield Static("ctrl+s : envoyer · Échap : annuler", classes="dialog-hint")

    def action_send(self) -> None:
        body = self.query_one("#reply-body", TextArea).text.strip()
        if not body:
            self.notify("La réponse est vide.", severity="warning")
            return
        self.dismiss(body)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ValidityDialog(ModalScreen[tuple[date, date] | None]):
    """Accepting a document: valid from, valid to (proposed: the type's validity or the school year)."""

    CSS_PATH = "inbox.tcss"
    BINDINGS = [Binding("escape", "cancel", "Annuler")]

    def __init__(self, document: DocumentInfo) -> None:
        super().__init__()
        self.document = document

    def compose(self) -> ComposeResult:
        d = self.document
        with Vertical(classes="dialog"):
            yield Static(f"Accepter : {escape(d.type_name)} — {escape(d.person)}", classes="dialog-title")
            yield Static("Valable du")
            yield Input(formatting.short_date(d.valid_from), id="valid-from")
            yield Static("au")
            yield Input(formatting.short_date(d.valid_to), id="valid-to")
            yield Static("", id="validity-error", classes="field-error")
            yield Static("Entrée : accepter · Échap : annuler", classes="dialog-hint")

    @on(Input.Submitted)
    def _submitted(self, _: Input.Submitted) -> None:
        from regie_tui.services.common.validation import InvalidValue, parse_date

        error = self.query_one("#validity-error", Static)
        try:
            start = parse_date(self.query_one("#valid-from", Input).value, "Valable du")
            end = parse_date(self.query_one("#valid-to", Input).value, "Valable au")
        except InvalidValue as invalid:
            error.update(invalid.message)
            return
        if end < start:
            error.update("La fin de validité précède son début.")
            return
        self.dismiss((start, end))

    def action_cancel(self) -> None:
        self.dismiss(None)
