"""The ``courtgraph`` command: a thin shell over the Python API, one module per command group.

It parses flags and prints; building and resuming runs is :mod:`courtgraph.evals`, rendering is
:mod:`courtgraph.view`. Exit codes: 0 success, 1 a run that finished with failures, 2 bad input (one
line naming the file, line and field; no traceback unless ``--debug``), 130 interrupted.
"""

from __future__ import annotations

import sys

from rich.markup import escape

from courtgraph.cli import info, judge, misc, probe, rejudge, report, run, show
from courtgraph.cli.app import DEBUG, app, err_console
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


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one line and exit code 2; anything else one line and exit 1."""
    try:
        app(args=argv)
    except (InputError, ConfigError) as exc:
        if DEBUG.get():
            raise
        # Escaped (a message may hold "[plot]") and never wrapped: an error is one line.
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except Exception as exc:
        if DEBUG.get():
            raise
        err_console.print(f"[bold red]error:[/] {type(exc).__name__}: {escape(str(exc))}  (run with --debug for the "
                          "traceback)", highlight=False, soft_wrap=True)
        sys.exit(1)


__all__ = ["app", "cache_choice", "load_case_file", "main", "parse_params", "split_specs"]
