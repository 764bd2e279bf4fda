"""The root command and the error boundary.

Only this module turns exceptions into exit codes: an expected error is one red line on
stderr plus the documented exit code; anything else is "unexpected error" with a hint to
re-run with ``--debug`` (which shows the traceback, without local variables, redacted).
"""

from __future__ import annotations

import gc
import logging
import os
import sys

import typer

from . import fastparams

fastparams.install()

try:  # typer >= 0.29 vendors click; older releases use click itself
    from typer import TyperException as CLICK_ERROR
except ImportError:  # pragma: no cover - depends on the installed typer
    from click import (  # type: ignore[import-not-found,no-redef,assignment,unused-ignore]
        ClickException as CLICK_ERROR,
    )

#: command name -> (module in parcelctl.cli, attribute): a function, or a Typer sub-app.
#: Modules are imported when their command is built, so ``parcelctl list`` never loads
#: (or inspects the signatures of) sync, watch, cron and the rest.
COMMANDS: dict[str, tuple[str, str]] = {
    "add": ("add", "main"),
    "sync": ("sync_cmd", "main"),
    "list": ("list_cmd", "main"),
    "show": ("show", "main"),
    "archive": ("archive", "archive"),
    "rm": ("archive", "remove"),
    "label": ("label", "main"),
    "link": ("link", "link"),
    "unlink": ("link", "unlink"),
    "accounts": ("accounts_cmd", "main"),
    "watch": ("watch", "main"),
    "digest": ("digest", "main"),
    "cron": ("cron", "app"),
    "config": ("config_cmd", "app"),
    "providers": ("providers_cmd", "main"),
    "carriers": ("carriers_cmd", "main"),
    "sandbox": ("sandbox_cmd", "app"),
    "demo": ("demo", "main"),
    "import": ("import_cmd", "main"),
    "collected": ("collected", "main"),
}


def build_app(only: str | None = None) -> typer.Typer:
    """The root command with every subcommand, or with just ``only`` (what ``main`` runs)."""
    import importlib

    root = typer.Typer(
        name="parcelctl",
        help="Track parcels from Kuaishou, Taobao, Douyin and any carrier — in the terminal "
        "and from cron.",
        no_args_is_help=True,
        # --install-completion / --show-completion belong to the root: only a run that
        # invokes no subcommand builds them (completion's imports stay out of `list`).
        add_completion=only is None,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    root.callback()(_root)
    for name, (module, attribute) in COMMANDS.items():
        if only is not None and name != only:
            continue
        target = getattr(importlib.import_module(f"{__package__}.{module}"), attribute)
        if isinstance(target, typer.Typer):
            root.add_typer(target, name=name)
        else:
            root.command(name)(target)
    return root


def __getattr__(name: str) -> typer.Typer:
    """``app``: the complete command tree, built on first use (demo, tests, plugins)."""
    if name == "app":
        full = build_app()
        globals()["app"] = full
        return full
    raise AttributeError(name)


def _command_of(args: list[str]) -> str | None:
    """The subcommand named on the command line, when nothing before it needs the root
    (--help, --version, or an option for Typer to reject)."""
    word = _first_word(args)
    return word if word in COMMANDS else None


def _first_word(args: list[str]) -> str | None:
    """The first word that is not an option: the command a person meant to run."""
    for arg in args:
        if arg == "--debug":
            continue
        return None if arg.startswith("-") else arg
    return None


def _version_callback(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"parcelctl {__version__}")
        raise typer.Exit()


def _root(
    debug: bool = typer.Option(False, "--debug", help="Show debug logs and tracebacks "
                               "(secrets redacted). Also PARCELCTL_DEBUG=1."),
    version: bool = typer.Option(False, "--version", callback=_version_callback,
                                 is_eager=True, help="Show the version and exit."),
) -> None:
    if debug:
        os.environ["PARCELCTL_DEBUG"] = "1"
        _setup_logging(True)


def _debug_enabled(argv: list[str]) -> bool:
    return "--debug" in argv or os.environ.get("PARCELCTL_DEBUG", "") not in ("", "0")


class _RedactingFilter(logging.Filter):
    """Redacts like ``redaction.RedactingFilter``, importing it only when a record is
    actually emitted: ``list`` and ``show`` start-up stays as small as it can."""

    def filter(self, record: logging.LogRecord) -> bool:
        from ..redaction import RedactingFilter

        return RedactingFilter().filter(record)


def _setup_logging(debug: bool) -> None:
    root = logging.getLogger("parcelctl")
    if getattr(root, "_parcelctl_configured", False) and not debug:
        return
    root.handlers.clear()
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RedactingFilter())
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.ERROR)
    root.propagate = False
    root._parcelctl_configured = True  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> None:
    from ..errors import ExitCode, ParcelctlError
    from .output import error

    args = list(sys.argv[1:] if argv is None else argv)
    if os.environ.get("_PARCELCTL_COMPLETE"):  # the shell asks for completions
        from .completion import complete

        complete()
    # A sync of a big shop or `list --all --json` allocates hundreds of thousands of
    # objects that live until the command ends, and almost none of them form cycles:
    # collecting the youngest generation every 700 allocations (the default) spent ~0.1 s
    # of a 10,000-order import re-scanning them. Reference counting still frees at once.
    gc.set_threshold(10_000, 10, 10)
    debug = _debug_enabled(args)
    _setup_logging(debug)
    code: int = 0
    try:
        word = _first_word(args)
        if word is not None and word not in COMMANDS:
            from .helptext import unknown_command

            error(unknown_command(word, list(COMMANDS)))
            raise typer.Exit(ExitCode.USAGE)
        from .helptext import polish

        command = typer.main.get_command(build_app(_command_of(args)))
        polish(command)  # plain metavars, an Examples section (help that teaches)
        result = command.main(args=args, prog_name="parcelctl", standalone_mode=False)
        # Without standalone mode, click hands typer.Exit codes back as the return value.
        if isinstance(result, int):
            code = result
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.Abort:  # Ctrl-C (or end of input) at a prompt
        from .common import end_interrupted_line

        end_interrupted_line()
        error("interrupted")
        code = ExitCode.INTERRUPTED
    except CLICK_ERROR as exc:
        show = getattr(exc, "show", None)  # usage errors print themselves, with the usage line
        if callable(show):
            show()
        else:
            error(str(exc))
        code = exc.exit_code
    except KeyboardInterrupt:
        from .common import end_interrupted_line

        end_interrupted_line()
        error("interrupted")
        code = ExitCode.INTERRUPTED
    except ParcelctlError as exc:
        if debug:
            _print_traceback()
        error(exc.render())
        code = int(exc.exit_code)
    except Exception as exc:
        from ..redaction import redact

        if debug:
            _print_traceback()
        from ..app.diagnostics import explain

        known = explain(exc)
        if known is not None:
            error(known.render())
            code = int(known.exit_code)
        else:
            error(redact(f"unexpected error: {type(exc).__name__}: {exc}")
                  + " — run again with --debug for details and report it")
            code = ExitCode.ERROR
    sys.stdout.flush()
    sys.exit(code)


def _print_traceback() -> None:
    import traceback

    from ..redaction import redact
    from ..textsafe import terminal

    # No locals: they may hold tokens. Text redacted and neutralised like every log line.
    sys.stderr.write(terminal(redact(traceback.format_exc())))
