"""The ``courtgraph`` command: a thin shell over the Python API, one module per command group.

It parses flags and prints; building and resuming runs is :mod:`courtgraph.evals`, rendering is
:mod:`courtgraph.view`. Exit codes: 0 success, 1 a run that finished with failures, 2 bad input (one
line naming the file, line and field; no traceback unless ``--debug``), 130 interrupted.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

import typer
from rich.markup import escape
from rich.text import Text

from courtgraph.cli import info, judge, misc, probe, rejudge, report, run, show
from courtgraph.cli.app import APP_SETTINGS, DEBUG, app, ending, err_console, start_up
from courtgraph.cli.inputs import cache_choice, load_case_file, parse_params, split_specs
from courtgraph.cli.options import ENVIRONMENT_HELP
from courtgraph.errors import InputError
from courtgraph.models import ConfigError

# The commands, in the order ``courtgraph --help`` lists them.
app.command()(judge.judge)
app.command("run", epilog=ENVIRONMENT_HELP)(run.run_command)
app.command("demo")(run.demo_command)
app.command()(report.report)
app.command()(rejudge.rejudge)
app.command()(probe.probe)
app.command()(info.info)
app.command("runs")(report.runs_command)
app.command()(show.show)
app.command()(show.browse)
app.command()(misc.stub)
app.add_typer(misc.protocols_app, name="protocols")


def command_app(args: Sequence[str]) -> typer.Typer:
    """The app to parse ``args`` with: when they name one of its commands, an app of that command alone.

    Typer builds the click command of every registered command before it parses anything (40 ms of
    signatures and type hints, ``run`` alone being 9 ms), so a command runs through an app that has only
    it and the root options; its help, usage line and errors are the same. Anything else (no command,
    ``--help``, a group such as ``protocols``, a typo) gets the whole app."""
    name = next((a for a in args if not a.startswith("-")), None)
    for command in app.registered_commands:
        callback = command.callback
        if callback is not None and (command.name or typer.main.get_command_name(callback.__name__)) == name:
            one = typer.Typer(**APP_SETTINGS)
            one.registered_callback = app.registered_callback
            one.registered_commands = [command]
            return one
    return app


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one line and exit code 2; anything else one line and exit 1.

    Every key is redacted from what is printed (a provider body may echo one), the ``--debug``
    traceback included: it is printed here, redacted, instead of by Python.

    Without ``argv`` this is the process's own entry point (the ``courtgraph`` script, ``python -m
    courtgraph``): it then runs its start-up with the garbage collector off and skips the collector's
    walk at exit (:func:`courtgraph.cli.app.start_up`, :func:`~courtgraph.cli.app.ending`), which a
    caller's process (``main([...])`` in a test or a script) never gets."""
    own_process = argv is None
    if own_process:
        start_up()
    try:
        _main(argv)
    finally:
        if own_process:
            ending()


class HelpTexts(Protocol):
    """What :func:`plain_help` rewrites of a click command (typer's vendored click: not ``click``'s types)."""

    help: str | None
    epilog: str | None
    short_help: str | None
    params: list[Any]


CommandT = TypeVar("CommandT", bound=HelpTexts)


def plain_help(command: CommandT) -> CommandT:
    """``command`` (and its subcommands) with click's plain help, its texts' rich markup rendered as text.

    For help read through a pipe (grep, a file, a pager, CI logs): rich's option panels give each column a
    share of the width and crop the words that do not fit their column with an ellipsis, so at 80 columns
    ``run --help`` lost 27 values and names (``judgebench[:PAT…``). Plain help wraps and drops nothing."""
    def plain(text: str | None) -> str | None:
        return None if text is None else Text.from_markup(text).plain

    command.help, command.epilog = plain(command.help), plain(command.epilog)
    # a group lists its commands by their short help, which click would cut at 45 characters: the first paragraph
    command.short_help = plain(command.short_help) or (command.help or "").split("\n\n")[0].replace("\n", " ")
    if hasattr(command, "rich_markup_mode"):
        command.rich_markup_mode = None  # typer's commands fall back to click's formatter
    for param in command.params:
        if hasattr(param, "help"):  # options, and typer's arguments
            param.help = plain(param.help)
    for sub in getattr(command, "commands", {}).values():
        plain_help(sub)
    return command


def _main(argv: list[str] | None) -> None:
    from courtgraph.models.secrets import redact

    # SIGTERM (kill, systemd, a CI timeout) is a Ctrl-C: the run saves its manifest and says how to resume
    signal.signal(signal.SIGTERM, lambda *_: signal.raise_signal(signal.SIGINT))
    try:
        command = typer.main.get_command(command_app(sys.argv[1:] if argv is None else argv))
        (command if sys.stdout.isatty() else plain_help(command))(args=argv)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except Exception as exc:
        if DEBUG.get():
            import traceback

            sys.stderr.write(redact("".join(traceback.format_exception(exc))))
            sys.exit(2 if isinstance(exc, InputError | ConfigError) else 1)
        # Escaped (a message may hold "[plot]") and never wrapped: an error is one line.
        if isinstance(exc, InputError | ConfigError):
            err_console.print(f"[bold red]error:[/] {escape(redact(str(exc)))}", highlight=False, soft_wrap=True)
            sys.exit(2)
        err_console.print(f"[bold red]error:[/] {type(exc).__name__}: {escape(redact(str(exc)))}  (run with --debug "
                          "for the traceback)", highlight=False, soft_wrap=True)
        sys.exit(1)


__all__ = ["app", "cache_choice", "command_app", "load_case_file", "main", "parse_params", "plain_help", "split_specs"]
