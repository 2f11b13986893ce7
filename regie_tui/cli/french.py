"""The frame of `regie`'s help pages and usage errors, in French.

Why not gettext: Typer 0.29 no longer depends on Click; it ships a trimmed copy of it
(``typer._click``) whose texts ("Usage: ", "Error: ", "Try '… --help' for help.",
"No such option", "Missing argument", "Invalid value for", "Show this message and
exit.") are plain f-strings, not ``gettext`` calls. Only ``typer.core`` still wraps a
few texts ("Options", "Commands", "Arguments", "default: …", "required", "Missing
command.", "No such command …") in a module-level ``_`` bound to
``gettext.gettext`` at import time, and value errors ("Input should be a valid
integer…", "…greater than or equal to 1") are Pydantic's English messages. A message
catalogue read by gettext would therefore translate a handful of words at most, and
it would depend on the process locale (LANG, LANGUAGE), which must not matter here.

So :func:`frenchify_click` hooks, once and in-process only, each place where those
texts are produced, always the narrowest one, and never the locale:

- Typer's own msgids: ``typer.core._`` becomes a lookup in :data:`TYPER_MESSAGES`
  (msgid → French), falling back on the English msgid. This rebinds one name in one
  module: Python's ``gettext`` module, the locale, libpq and psycopg are untouched.
- The help layout: Click's documented extension point ``Context.formatter_class`` is
  set to :class:`FrenchHelpFormatter` ("Utilisation : …", headings "Options :").
- The help option's text ("Affiche cette aide et quitte."), the usage line's
  "COMMANDE [ARGUMENTS]...", the type names ("<entier>", "<texte>") and the ranges
  ("entre 1 et 1000"): small wrappers around the Typer functions that build them.
- Usage errors: the ``show``/``format_message`` methods of the exception classes
  write "Erreur : …" and "Essayez « regie --help » pour l'aide.", and rebuild each
  message in French from the exception's own data (parameter, option name, hint).
  The few messages that Typer's Click builds as finished English sentences ("Got
  unexpected extra argument(s) (…)", "Option '--x' requires an argument.") are
  matched whole against :data:`ENGLISH_SENTENCES`.
- Value errors: Typer's ``get_error_msg`` (bound by name in ``typer._coercion`` and
  ``typer._param_types``) is replaced by :func:`french_validation_message`, which
  reads Pydantic's structured error (type ``int_parsing``, ``greater_than_equal``
  with ``ge=1``…) instead of its English text.

Everything here touches Typer's private modules (there is no public hook left in
Typer 0.29); a Typer upgrade that moves them makes the help English again, never
breaks `regie`, and tests/cli/test_help_french.py then fails. Help rendered with
Rich (``rich_markup_mode`` other than None) is not covered: regie uses plain help.
Headless: imports only Typer, never Textual.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Sequence
from typing import IO, Any

import typer.core
from typer import _coercion, _param_types
from typer._click import core as click_core
from typer._click import exceptions as click_exceptions
from typer._click._compat import get_text_stderr
from typer._click.formatting import HelpFormatter
from typer._click.utils import _escape_control_characters, echo

from regie_tui.limits import ID_MAX

__all__ = [
    "ENGLISH_SENTENCES",
    "TYPER_MESSAGES",
    "FrenchHelpFormatter",
    "french_validation_message",
    "frenchify_click",
    "refuse_unclear_values",
    "translate_sentence",
]

#: Typer's gettext msgids (typer/core.py) → French.
TYPER_MESSAGES: dict[str, str] = {
    "Arguments": "Arguments",
    "Options": "Options",
    "Commands": "Commandes",
    "default: {default}": "défaut : {default}",
    "required": "obligatoire",
    "env var: {var}": "variable d'environnement : {var}",
    "(dynamic)": "(calculé)",
    "Missing command.": "Commande manquante.",
    "No such command {name!r}.": "Commande inconnue : « {name} ».",
    "Aborted!": "Abandon.",
}

USAGE_PREFIX = "Utilisation : "
HELP_OPTION_HELP = "Affiche cette aide et quitte."
ENGLISH_HELP_OPTION_HELP = "Show this message and exit."
ERROR_PREFIX = "Erreur : "
HELP_HINT = "Essayez « {command} {option} » pour l'aide."
SUBCOMMAND_METAVAR = "COMMANDE [ARGUMENTS]..."
ENGLISH_SUBCOMMAND_METAVAR = "COMMAND [ARGS]..."

#: What a parameter is, in "Argument manquant : « login »." (Click's param_type_name).
PARAM_KINDS = {
    "argument": ("Argument", "manquant"),
    "option": ("Option", "manquante"),
    "parameter": ("Paramètre", "manquant"),
}

#: Type names shown in help ("--limit <int>") → French.
TYPE_NAMES = {
    "str": "texte",
    "int": "entier",
    "float": "nombre",
    "bool": "booléen",
    "path": "chemin",
    "file": "fichier",
    "dir": "dossier",
    "datetime": "date-heure",
    "date": "date",
    "Decimal": "nombre",
    "UUID": "uuid",
    "list": "liste",
}

PATH_KINDS = {"file": "Le fichier", "dir": "Le dossier", "path": "Le chemin"}


def _quoted(text: str) -> str:
    """``'abc'`` (a Python repr, as Click prints values) → ``« abc »``; anything else unchanged."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text
    return f"« {value} »" if isinstance(value, str) else text


def _quoted_list(text: str) -> str:
    """``'a', 'b'`` → ``« a », « b »``."""
    return re.sub(r"'((?:[^'\\]|\\.)*)'", lambda m: _quoted(m.group(0)), text)


def _hint(hint: str) -> str:
    """Click's parameter hint (``'--families'``, ``'-f' / '--families'``) with French quotes."""
    hint = hint.replace("(env var: ", "(variable d'environnement : ")
    return _quoted_list(hint)


def _path_message(kind: str, name: str, state: str) -> str:
    return f"{PATH_KINDS.get(kind, 'Le chemin')} {_quoted(name)} {state}."


#: Whole English sentences built by Typer's Click with f-strings → French.
ENGLISH_SENTENCES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"Got unexpected extra argument\(s\) \((.*)\)", re.DOTALL), lambda m: f"Argument(s) en trop : {m[1]}"),
    (re.compile(r"Option (.+) requires an argument\."), lambda m: f"L'option {_quoted(m[1])} attend une valeur."),
    (
        re.compile(r"Option (.+) requires (\d+) arguments\."),
        lambda m: f"L'option {_quoted(m[1])} attend {m[2]} valeurs.",
    ),
    (re.compile(r"Option (.+) does not take a value\."), lambda m: f"L'option {_quoted(m[1])} ne prend pas de valeur."),
    (re.compile(r"Argument (.+) takes (\d+) values\."), lambda m: f"L'argument {_quoted(m[1])} attend {m[2]} valeurs."),
    (re.compile(r"No such option: (.*)", re.DOTALL), lambda m: f"Option inconnue : {m[1]}"),
    (re.compile(r"Value must be an iterable\."), lambda m: "plusieurs valeurs sont attendues."),
    (
        re.compile(r"Value (.+) is not a valid (.+)\.", re.DOTALL),
        lambda m: f"{_quoted(m[1])} n'est pas une valeur valide ({TYPE_NAMES.get(m[2], m[2])}).",
    ),
    (
        re.compile(r"(file|dir|path) (.+) does not exist\.", re.DOTALL),
        lambda m: _path_message(m[1], m[2], "n'existe pas"),
    ),
    (re.compile(r"(file|dir|path) (.+) is a file\.", re.DOTALL), lambda m: _path_message(m[1], m[2], "est un fichier")),
    (
        re.compile(r"(file|dir|path) (.+) is a directory\.", re.DOTALL),
        lambda m: _path_message(m[1], m[2], "est un dossier"),
    ),
    (
        re.compile(r"(file|dir|path) (.+) is not readable\.", re.DOTALL),
        lambda m: _path_message(m[1], m[2], "n'est pas lisible"),
    ),
    (
        re.compile(r"(file|dir|path) (.+) is not writable\.", re.DOTALL),
        lambda m: _path_message(m[1], m[2], "n'est pas accessible en écriture"),
    ),
    # Raised inside Pydantic validators (choices, date formats, tuples).
    (
        re.compile(r"(.+) is not one of (.+)\.", re.DOTALL),
        lambda m: f"{_quoted(m[1])} ne fait pas partie des choix possibles : {_quoted_list(m[2])}.",
    ),
    (
        re.compile(r"(.+) does not match the formats (.+)\.", re.DOTALL),
        lambda m: f"{_quoted(m[1])} ne correspond à aucun des formats {m[2]}.",
    ),
    (
        re.compile(r"(\d+) values are required, but (\d+) given\."),
        lambda m: f"{m[1]} valeurs sont attendues, {m[2]} données.",
    ),
    (re.compile(r"value is not a valid tuple"), lambda m: "plusieurs valeurs sont attendues."),
    # Appended by TyperGroup.resolve_command to "No such command" (already French).
    (
        re.compile(r"(.*)\. Did you mean (.+)\?", re.DOTALL),
        lambda m: f"{translate_sentence(m[1])}. Vouliez-vous dire {_quoted_list(m[2])} ?",
    ),
]


def translate_sentence(message: str) -> str:
    """One of the English sentences of :data:`ENGLISH_SENTENCES` in French; other text unchanged."""
    for pattern, french in ENGLISH_SENTENCES:
        match = pattern.fullmatch(message)
        if match:
            return french(match)
    return message


def _input(error: dict[str, Any]) -> str:
    value = error.get("input")
    return f"« {value} »" if isinstance(value, str) else f"« {value!r} »"


#: Pydantic error type → French message (the error dict gives the input and the bounds).
VALIDATION_MESSAGES: dict[str, Callable[[dict[str, Any]], str]] = {
    "int_parsing": lambda e: f"{_input(e)} n'est pas un nombre entier valide.",
    "int_from_float": lambda e: f"{_input(e)} n'est pas un nombre entier valide.",
    "int_type": lambda e: f"{_input(e)} n'est pas un nombre entier valide.",
    "float_parsing": lambda e: f"{_input(e)} n'est pas un nombre valide.",
    "float_type": lambda e: f"{_input(e)} n'est pas un nombre valide.",
    "decimal_parsing": lambda e: f"{_input(e)} n'est pas un nombre valide.",
    "bool_parsing": lambda e: f"{_input(e)} n'est pas une valeur oui/non valide.",
    "greater_than_equal": lambda e: f"la valeur doit être supérieure ou égale à {e['ctx']['ge']}.",
    "greater_than": lambda e: f"la valeur doit être strictement supérieure à {e['ctx']['gt']}.",
    "less_than_equal": lambda e: f"la valeur doit être inférieure ou égale à {e['ctx']['le']}.",
    "less_than": lambda e: f"la valeur doit être strictement inférieure à {e['ctx']['lt']}.",
    "finite_number": lambda e: f"{_input(e)} n'est pas un nombre fini.",
    "date_parsing": lambda e: f"{_input(e)} n'est pas une date valide.",
    "date_from_datetime_parsing": lambda e: f"{_input(e)} n'est pas une date valide.",
    "datetime_parsing": lambda e: f"{_input(e)} n'est pas une date et heure valide.",
    "datetime_from_date_parsing": lambda e: f"{_input(e)} n'est pas une date et heure valide.",
    "uuid_parsing": lambda e: f"{_input(e)} n'est pas un UUID valide.",
    "enum": lambda e: f"{_input(e)} ne fait pas partie des choix possibles : {e['ctx']['expected']}.",
    "literal_error": lambda e: f"{_input(e)} ne fait pas partie des choix possibles : {e['ctx']['expected']}.",
    # A ValueError raised by a validator: Typer's English sentences, or a parser's own text.
    "value_error": lambda e: translate_sentence(str(e["ctx"]["error"])),
}


def french_validation_message(exc: Any) -> str:
    """Replaces ``typer._display.get_error_msg``: the first Pydantic error, in French."""
    errors = exc.errors()
    if not errors:
        return _escape_control_characters(str(exc))
    error = errors[0]
    french = VALIDATION_MESSAGES.get(error.get("type", ""))
    try:
        message = french(error) if french else str(error["msg"])
    except (KeyError, TypeError):
        message = str(error["msg"])
    return _escape_control_characters(message)


class FrenchHelpFormatter(HelpFormatter):
    """Click's help formatter with "Utilisation : " and headings followed by " :"."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, USAGE_PREFIX if prefix is None else prefix)

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{heading} :\n")


def _french_gettext(message: str) -> str:
    return TYPER_MESSAGES.get(message, message)


#: A range up to this bound is the database's own (ids: ``limits.ID_MAX``): the parser
#: enforces it, the help does not show it (a record's number is obviously positive).
UNREAD_MAX = ID_MAX


def _describe_number_range(min: float | None, max: float | None) -> str | None:
    if max is not None and max >= UNREAD_MAX:
        return None
    if min is None and max is None:
        return None
    if min is None:
        return f"au plus {max}"
    if max is None:
        return f"au moins {min}"
    return f"entre {min} et {max}"


def _french_type_label(label: str) -> str:
    label = re.sub(r"\b(int|float) range\b", r"\1", label)
    return re.sub(r"[A-Za-z_]+", lambda m: TYPE_NAMES.get(m[0], m[0]), label)


# ----------------------------------------------------------------- exceptions


def _show_click_exception(self: click_exceptions.ClickException, file: IO[Any] | None = None) -> None:
    echo(f"{ERROR_PREFIX}{self.format_message()}", file=file or get_text_stderr(), color=self.show_color)


def _show_usage_error(self: click_exceptions.UsageError, file: IO[Any] | None = None) -> None:
    if file is None:
        file = get_text_stderr()
    color = None
    hint = ""
    ctx = self.ctx
    if ctx is not None and ctx.command.get_help_option(ctx) is not None:
        hint = HELP_HINT.format(command=ctx.command_path, option=ctx.help_option_names[0]) + "\n"
    if ctx is not None:
        color = ctx.color
        echo(f"{ctx.get_usage()}\n{hint}", file=file, color=color)
    echo(f"{ERROR_PREFIX}{self.format_message()}", file=file, color=color)


def _format_click_exception(self: click_exceptions.ClickException) -> str:
    if isinstance(self, click_exceptions.NoArgsIsHelpError):  # its message is the help page
        return self.message
    return translate_sentence(self.message)


def _param_hint(self: click_exceptions.BadParameter) -> str | None:
    hint: Sequence[str] | str | None
    if self.param_hint is not None:
        hint = self.param_hint
    elif self.param is not None:
        hint = self.param.get_error_hint()
    else:
        return None
    joined = click_exceptions._join_param_hints(hint)
    return _hint(joined) if joined else None


def _format_bad_parameter(self: click_exceptions.BadParameter) -> str:
    message = translate_sentence(self.message)
    hint = _param_hint(self)
    if hint is None:
        return f"Valeur invalide : {message}"
    return f"Valeur invalide pour {hint} : {message}"


def _format_missing_parameter(self: click_exceptions.MissingParameter) -> str:
    hint = _param_hint(self)
    param_type = self.param_type
    if param_type is None and self.param is not None:
        param_type = self.param.param_type_name
    noun, adjective = PARAM_KINDS.get(param_type or "parameter", (str(param_type).capitalize(), "manquant"))
    parts = [f"{noun} {adjective} : {hint}." if hint else f"{noun} {adjective}."]
    if self.message:
        parts.append(translate_sentence(self.message))
    if self.param is not None:
        choices = self.param.get_missing_message(ctx=self.ctx)
        if choices:
            parts.append(choices.replace("Choose from:", "Choisissez parmi :", 1))
    return " ".join(parts)


def _format_no_such_option(self: click_exceptions.NoSuchOption) -> str:
    message = translate_sentence(self.message)
    hidden = set()
    if self.ctx is not None:  # an old option name kept for scripts is not suggested
        hidden = {name for p in self.ctx.command.params if getattr(p, "hidden", False) for name in p.opts}
    possibilities = sorted(set(self.possibilities or ()) - hidden)
    if not possibilities:
        return message
    return f"{message} (options possibles : {', '.join(possibilities)})"


def _format_file_error(self: click_exceptions.FileError) -> str:
    reason = "erreur inconnue" if self.message == "unknown error" else self.message
    return f"Impossible d'ouvrir le fichier « {self.ui_filename} » : {reason}"


# ------------------------------------------------------------------ install

# Every assignment below patches Typer on purpose (see the module docstring), which mypy flags: a name that
# the module does not declare [attr-defined], a method replaced on its class [method-assign]. Hence their
# `type: ignore`s; a replaced method's signature is still checked against the original.

_INSTALLED = False


def frenchify_click() -> None:
    """Put `regie`'s help pages and usage errors in French (idempotent, for the whole process).

    See the module docstring for what is hooked and why.
    """
    global _INSTALLED
    if _INSTALLED:
        return
    _INSTALLED = True
    _french_help_pages()
    _french_usage_errors()


def _french_help_pages() -> None:
    """Typer's gettext msgids, its ranges ("1<=x<=1000"), the help layout (Click's extension
    point), the help option's text, the usage line and the type names."""
    typer.core._ = _french_gettext  # type: ignore[attr-defined]
    typer.core.describe_number_range = _describe_number_range  # type: ignore[attr-defined]
    click_core.Context.formatter_class = FrenchHelpFormatter

    get_help_option = click_core.Command.get_help_option

    def french_get_help_option(self: click_core.Command, ctx: click_core.Context) -> Any:
        option = get_help_option(self, ctx)
        if option is not None and option.help == ENGLISH_HELP_OPTION_HELP:
            option.help = HELP_OPTION_HELP
        return option

    click_core.Command.get_help_option = french_get_help_option  # type: ignore[method-assign]

    collect_usage_pieces = typer.core.TyperGroup.collect_usage_pieces

    def french_collect_usage_pieces(self: typer.core.TyperGroup, ctx: click_core.Context) -> list[str]:
        pieces = collect_usage_pieces(self, ctx)
        return [SUBCOMMAND_METAVAR if p == ENGLISH_SUBCOMMAND_METAVAR else p for p in pieces]

    typer.core.TyperGroup.collect_usage_pieces = french_collect_usage_pieces  # type: ignore[method-assign]

    display_type = typer.core._TyperParameter.display_type

    def french_display_type(self: typer.core._TyperParameter, ctx: click_core.Context) -> str:
        label = display_type(self, ctx)
        descriptor = self.type_descriptor
        if descriptor.is_choice or (descriptor.is_datetime and descriptor.parameter_info.formats is not None):
            return label  # the user's own words (choices, date formats)
        return _french_type_label(label)

    typer.core._TyperParameter.display_type = french_display_type  # type: ignore[method-assign]


def _french_usage_errors() -> None:
    """Usage errors written in French, and value errors (Pydantic's) read from the structured
    error rather than its English text."""
    exceptions = click_exceptions
    exceptions.ClickException.show = _show_click_exception  # type: ignore[method-assign]
    exceptions.UsageError.show = _show_usage_error  # type: ignore[method-assign]
    # [assignment] too: ClickException inherits format_message from TyperException, whose self it is typed with.
    exceptions.ClickException.format_message = _format_click_exception  # type: ignore[method-assign,assignment]
    exceptions.BadParameter.format_message = _format_bad_parameter  # type: ignore[method-assign]
    exceptions.MissingParameter.format_message = _format_missing_parameter  # type: ignore[method-assign]
    exceptions.NoSuchOption.format_message = _format_no_such_option  # type: ignore[method-assign]
    exceptions.FileError.format_message = _format_file_error  # type: ignore[method-assign]

    _coercion.get_error_msg = french_validation_message  # type: ignore[attr-defined]
    _param_types.get_error_msg = french_validation_message  # type: ignore[attr-defined]


# ------------------------------------------------------------ unclear values

REPEATED_OPTION = "L'option {option} est donnée plusieurs fois : une seule valeur est attendue."
NUL_IN_VALUE = "Valeur invalide pour {hint} : caractère nul (\\0) non admis."
NOT_UTF8_VALUE = "Valeur invalide pour {hint} : ce n'est pas un texte UTF-8 valide."

_REFUSE_INSTALLED = False


def _values(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _unclear(parser: Any, opts: dict[str, Any], order: list[Any]) -> str | None:
    """Why the parsed command line is unclear, in French, or None."""
    seen: set[int] = set()
    for param in order:
        single = not (getattr(param, "multiple", False) or getattr(param, "count", False))
        if param.param_type_name == "option" and single and not getattr(param, "is_flag", False):
            if id(param) in seen:
                return REPEATED_OPTION.format(option=_quoted(repr(param.opts[-1])))
            seen.add(id(param))
    for param in order:
        path = getattr(getattr(param, "type_descriptor", None), "is_path", False)
        for value in _values(opts.get(param.name)):
            if not isinstance(value, str):
                continue
            hint = _hint(param.get_error_hint())
            if "\x00" in value:
                return NUL_IN_VALUE.format(hint=hint)
            if not path and any("\ud800" <= ch <= "\udfff" for ch in value):
                return NOT_UTF8_VALUE.format(hint=hint)
    return None


def refuse_unclear_values() -> None:
    """Refuse, as a French usage error (exit 2) before anything runs, a command line whose
    meaning is unclear: an option taking one value given twice (``--reason a --reason b``:
    Click would keep the last one silently), a NUL character in a value (no file name nor
    database text may hold it), or bytes that are not UTF-8 in a value that is not a path
    (they could be neither stored nor printed). Checked where the parser returns, like its
    own errors (an unknown option), so before ``--db``'s eager callback. Idempotent."""
    global _REFUSE_INSTALLED
    if _REFUSE_INSTALLED:
        return
    _REFUSE_INSTALLED = True
    from typer._click import parser as click_parser

    parse_args = click_parser._OptionParser.parse_args

    def checked_parse_args(
        self: click_parser._OptionParser, args: list[str]
    ) -> tuple[dict[str, Any], list[str], list[Any]]:
        opts, largs, order = parse_args(self, args)
        if self.ctx is not None and not self.ctx.resilient_parsing:
            why = _unclear(self, opts, order)
            if why is not None:
                raise click_exceptions.UsageError(why, self.ctx)
        return opts, largs, order

    click_parser._OptionParser.parse_args = checked_parse_args  # type: ignore[method-assign]
