"""A confirmation that can ask for a line of text: the gate before any triage write."""

from __future__ import annotations

from typing import ClassVar

from textual import getters, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static


class PromptScreen(ModalScreen[str | None]):
    """Asks to confirm an action; dismisses with the typed text, or None when cancelled."""

    DEFAULT_CSS = """
    PromptScreen {
        align: center middle;
    }
    PromptScreen > Vertical {
        width: 72;
        max-width: 100%;
        height: auto;
        border: thick $warning;
        border-title-color: $text;
        padding: 1 2;
        background: $surface;
    }
    PromptScreen #prompt-error {
        color: $error;
        height: auto;
    }
    PromptScreen Horizontal {
        height: auto;
        margin-top: 1;
    }
    PromptScreen Button {
        margin-right: 2;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    text_input = getters.query_one("#prompt-input", Input)
    error = getters.query_one("#prompt-error", Static)

    def __init__(
        self, title: str, explanation: str, placeholder: str, confirm: str, required: bool
    ) -> None:
        """Build the prompt.

        Args:
            title: What is about to happen, as the box title.
            explanation: The consequences, shown above the input.
            placeholder: What to type.
            confirm: The label of the button that does it.
            required: Whether an empty line is refused (e.g. an allowlist reason).
        """
        super().__init__()
        self._title = title
        self._explanation = explanation
        self._placeholder = placeholder
        self._confirm = confirm
        self._required = required

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self._title
            yield Static(self._explanation, markup=False)
            yield Input(placeholder=self._placeholder, id="prompt-input")
            yield Static("", id="prompt-error")
            with Horizontal():
                yield Button(self._confirm, variant="warning", id="confirm")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.text_input.focus()

    @on(Input.Submitted, "#prompt-input")
    @on(Button.Pressed, "#confirm")
    def _confirm_pressed(self) -> None:
        value = self.text_input.value.strip()
        if self._required and not value:
            self.error.update("Please give a reason: it is kept with the entry.")
            return
        self.dismiss(value)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Leave without doing anything."""
        self.dismiss(None)
