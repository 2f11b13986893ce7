"""One module per screen; dialogs are ModalScreen[T]."""
