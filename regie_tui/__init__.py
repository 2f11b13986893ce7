"""regie-tui: the régie desk of municipal childcare services, in the terminal."""

__version__ = "0.1.0"
