"""A dashboard tile: a label and a live figure."""

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Label


class Counter(Vertical):
    """Shows ``value`` (already formatted) under ``label``; ``alert`` highlights it.

    The value reads "…" until the first load, so an empty bannette is never
    confused with one not yet counted. Enter or a click posts ``Counter.Selected``.
    """

    BINDINGS = [Binding("enter", "select", "Ouvrir", tooltip="Ouvrir la liste de ce compteur")]
    can_focus = True

    class Selected(Message):
        def __init__(self, counter: "Counter") -> None:
            super().__init__()
            self.counter = counter

    DEFAULT_CSS = """
    Counter {
        width: 1fr;
        height: 5;
        border: round $primary;
        padding: 0 1;
    }
    Counter > .counter--value { text-style: bold; width: 1fr; content-align: center middle; }
    Counter > .counter--label { color: $text-muted; width: 1fr; content-align: center middle; }
    Counter.-alert { border: round $warning; }
    Counter.-alert > .counter--value { color: $warning; }
    Counter:focus, Counter.-alert:focus { border: double $accent; background: $boost; }
    """

    value: reactive[str] = reactive("…")

    def __init__(self, label: str, *, id: str, selectable: bool = True) -> None:
        super().__init__(id=id)
        self._label = label
        self.can_focus = selectable

    def compose(self) -> ComposeResult:
        yield Label(self.value, classes="counter--value")
        yield Label(self._label, classes="counter--label")

    def watch_value(self, value: str) -> None:
        if self.is_mounted:
            self.query_one(".counter--value", Label).update(value)

    def show(self, value: str, *, alert: bool = False) -> None:
        self.value = value
        self.set_class(alert, "-alert")

    def action_select(self) -> None:
        self.post_message(self.Selected(self))

    def on_click(self) -> None:
        self.action_select()
