"""The family file (fiche famille): the screen, one pane per tab, its forms and dialogs."""
