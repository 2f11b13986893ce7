"""The bannette (F3): the screen, its list and item panes, its dialogs."""
