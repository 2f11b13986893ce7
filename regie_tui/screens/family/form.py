"""Forms of the fiche famille: one modal for any part of the file (and the mandates').

:class:`FamilyForm` shows a list of :class:`FormField` (text, date, yes/no, choice, several
choices), checks each value as it is typed with the same rule the service applies (the
French message appears under the field), and saves in a worker thread: ``save(session,
values)`` runs in its own unit of work, committed if it returns. A refused save (a stale
form, a value refused by the service) shows the French message in the form, and what the
agent typed stays on screen; ctrl+r then closes the form and reloads the file.

Keys: ctrl+s (or ⏎ on « Enregistrer ») saves, Échap cancels, ⏎ in a field moves to the next.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Footer, Input, Label, Select, Static

from regie_tui import workers
from regie_tui.errors import RegieError
from regie_tui.formatting import short_date
from regie_tui.labels import HEALTH_KIND, SEX, label
from regie_tui.services.families.stamps import STALE_HEADER

if TYPE_CHECKING:
    from regie_tui.workers import Db

FormKind = Literal["text", "date", "bool", "choice", "multi"]

#: What the form returns: True once saved (the file reloads), "reload" to reload without saving.
FormResult = bool | Literal["reload"]


@dataclass(frozen=True)
class FormField:
    """One field of a form. ``check(value)`` returns the value as stored or raises a RegieError."""

    name: str
    label: str
    kind: FormKind = "text"
    value: Any = ""
    choices: Sequence[tuple[str, Any]] = ()  # (label, value) for choice / multi
    check: Callable[[Any], object] | None = None
    placeholder: str = ""
    max_length: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


Save = Callable[["Db", dict[str, Any]], object]


class FamilyForm(ModalScreen[FormResult]):
    """A form over part of the family file; see the module docstring for its keys."""

    CSS_PATH = "family.tcss"

    BINDINGS: ClassVar = [
        Binding("ctrl+s", "save", "Enregistrer", id="form-save", tooltip="Enregistrer le formulaire"),
        Binding("escape", "cancel", "Annuler", id="form-cancel", tooltip="Fermer sans enregistrer"),
        Binding("ctrl+r", "reload", "Recharger", id="form-reload", tooltip="Fermer et recharger la fiche"),
    ]

    def __init__(self, title: str, fields: Sequence[FormField], save: Save) -> None:
        super().__init__()
        self._title = title
        self.fields = list(fields)
        self._save = save
        self.saving = False
        self.stale = False  # the last save was refused: the file changed since the form opened

    def compose(self) -> ComposeResult:
        with Vertical(id="form-box"):
            yield Static(self._title, id="form-title")
            with VerticalScroll(id="form-fields"):
                for spec in self.fields:
                    with Horizontal(classes="form-row"):
                        yield Label(spec.label, classes="form-label")
                        yield self._widget(spec)
                    error = Static("", id=f"error-{spec.name}", classes="field-error")
                    error.display = False
                    yield error
            error = Static("", id="form-error")
            error.display = False
            yield error
            with Horizontal(id="form-buttons"):
                yield Button("Enregistrer", id="form-save", variant="primary", compact=True)
                yield Button("Annuler", id="form-cancel", compact=True)
        yield Footer()

    def _widget(self, spec: FormField) -> Input | Checkbox | Select[Any] | Vertical:
        widget_id = f"field-{spec.name}"
        if spec.kind == "bool":
            return Checkbox(_yes(bool(spec.value)), bool(spec.value), id=widget_id, compact=True)
        if spec.kind == "choice":
            return Select(
                list(spec.choices),
                value=spec.value if spec.value not in (None, "") else Select.NULL,
                prompt="(choisir)",
                id=widget_id,
                compact=True,
            )
        if spec.kind == "multi":
            # One yes/no box per choice: its label says the state, readable without colour.
            chosen = set(spec.value or ())
            boxes = [
                Checkbox(_choice_label(text, value in chosen), value in chosen, name=str(value), compact=True)
                for text, value in spec.choices
            ]
            return Vertical(*boxes, id=widget_id, classes="form-multi")
        return Input(
            str(spec.value or ""),
            placeholder=spec.placeholder or ("JJ/MM/AAAA" if spec.kind == "date" else ""),
            max_length=spec.max_length,
            id=widget_id,
            compact=True,
        )

    def on_mount(self) -> None:
        first = self.query(".form-row > *:last-child").first()
        first.focus()

    # ----------------------------------------------------------------- values and checks

    def value_of(self, spec: FormField) -> Any:
        widget = self.query_one(f"#field-{spec.name}")
        if isinstance(widget, Input):
            return widget.value
        if isinstance(widget, Checkbox):
            return widget.value
        if isinstance(widget, Select):
            return "" if widget.value is Select.NULL else widget.value
        if isinstance(widget, Vertical):
            chosen = {box.name for box in widget.query(Checkbox) if box.value}
            return [value for _text, value in spec.choices if str(value) in chosen]
        raise TypeError(type(widget))

    def values(self) -> dict[str, Any]:
        return {spec.name: self.value_of(spec) for spec in self.fields}

    def _check(self, spec: FormField) -> bool:
        """Check one field as typed; show its French message under it. True when valid."""
        message = ""
        if spec.check is not None:
            try:
                spec.check(self.value_of(spec))
            except RegieError as refused:
                message = refused.message
        shown = self.query_one(f"#error-{spec.name}", Static)
        shown.update(message)
        shown.display = bool(message)
        return not message

    def _spec(self, widget_id: str | None) -> FormField | None:
        name = (widget_id or "").removeprefix("field-")
        return next((spec for spec in self.fields if spec.name == name), None)

    def on_input_changed(self, event: Input.Changed) -> None:
        spec = self._spec(event.input.id)
        if spec is not None:
            self._check(spec)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.focus_next()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        """A box's label says its state ('oui' / 'non'), for terminals without colour."""
        box = event.checkbox
        if box.name is None:
            box.label = _yes(box.value)
        else:
            text = str(box.label).rsplit(" : ", 1)[0]
            box.label = _choice_label(text, box.value)

    def on_select_changed(self, event: Select.Changed) -> None:
        spec = self._spec(event.select.id)
        if spec is not None:
            self._check(spec)

    # ----------------------------------------------------------------- saving

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "form-save":
            self.action_save()
        elif event.button.id == "form-cancel":
            self.action_cancel()

    def action_cancel(self) -> None:
        if not self.saving:
            self.dismiss(False)

    def action_reload(self) -> None:
        if not self.saving:
            self.dismiss("reload")

    def action_save(self) -> None:
        if self.saving:
            return
        invalid = [spec for spec in self.fields if not self._check(spec)]
        if invalid:
            self._show_error("Corrigez les champs signalés avant d'enregistrer.")
            self.query_one(f"#field-{invalid[0].name}").focus()
            return
        values = self.values()
        self.saving = True
        self._show_error("")
        save = self._save
        workers.write(self, lambda session: save(session, values), self._saved, on_error=self._refused)

    def _saved(self, _result: object) -> None:
        self.saving = False
        self.dismiss(True)

    def _refused(self, message: str) -> None:
        self.saving = False
        self.stale = message.startswith(STALE_HEADER)
        if self.stale:
            message += "\nVotre saisie est conservée ci-dessus. ctrl+r : recharger la fiche."
        self._show_error(message)

    def _show_error(self, message: str) -> None:
        error = self.query_one("#form-error", Static)
        error.update(message)
        error.display = bool(message)


def _yes(flag: bool) -> str:
    return "oui" if flag else "non"


def _choice_label(text: str, chosen: bool) -> str:
    return f"{text} : {_yes(chosen)}"


# --------------------------------------------------------------------------- the forms of the file


def entity_fields(entity: str, names: Sequence[str], current: Any, *, today: date) -> list[FormField]:
    """Fields of ``entity`` (family, guardian, child…) filled from ``current`` (a view or a mapping)."""
    from regie_tui.services.families.edit import desk_field

    fields = []
    for name in names:
        spec = desk_field(entity, name)
        value = current.get(name, "") if isinstance(current, dict) else getattr(current, name, "")
        check: Callable[[Any], object] = spec.clean
        if spec.kind == "date":
            value = short_date(value) if isinstance(value, date) else (value or "")
            if entity == "child" and name == "birth_date":
                check = _birth_check(spec.clean, today)
        choices: list[tuple[str, Any]] = []
        if spec.kind == "choice":
            words = SEX if name == "sex" else HEALTH_KIND
            choices = [(label(words, code).capitalize(), code) for code in spec.choices]
        fields.append(
            FormField(
                name=name,
                label=spec.label + (" *" if spec.required or name == "birth_date" else ""),
                kind=spec.kind,
                value=value,
                choices=choices,
                check=check,
                max_length=spec.max_length if spec.kind == "text" else 0,
            )
        )
    return fields


def _birth_check(clean: Callable[[Any], Any], today: date) -> Callable[[Any], object]:
    from regie_tui.services.common import validation

    def check(value: Any) -> object:
        day = clean(value)
        if day is None:
            raise validation.InvalidValue("Date de naissance : obligatoire.")
        return validation.check_birth_date(day, today=today, max_age=18)

    return check


def quotient_fields(today: date, documents: Sequence[tuple[str, int]]) -> list[FormField]:
    from regie_tui.services.common import validation
    from regie_tui.services.families.edit import QUOTIENT_SOURCES, quotient_value

    def check_value(value: Any) -> object:
        if not str(value).strip():
            raise validation.InvalidValue("Quotient familial : obligatoire.")
        return quotient_value(value)

    def check_date(label_text: str) -> Callable[[Any], object]:
        def check(value: Any) -> object:
            if not str(value).strip():
                raise validation.InvalidValue(f"{label_text} : obligatoire.")
            return validation.parse_date(str(value), label_text)

        return check

    return [
        FormField("value", "Quotient (€) *", value="", check=check_value, placeholder="ex. 850"),
        FormField(
            "source",
            "Source *",
            kind="choice",
            value="CAF",
            choices=[(s if s.isupper() else s.capitalize(), s) for s in QUOTIENT_SOURCES],
        ),
        FormField(
            "valid_from", "Valable du *", kind="date", value=f"01/01/{today.year}", check=check_date("Valable du")
        ),
        FormField("valid_to", "Valable au *", kind="date", value=f"31/12/{today.year}", check=check_date("Valable au")),
        FormField("document_id", "Justificatif", kind="choice", value="", choices=list(documents)),
    ]
