"""The root command and the error boundary.

Only this module turns exceptions into exit codes: an expected error is one red line on
stderr plus the documented exit code; anything else is "unexpected error" with a hint to
re-run with ``--debug`` (which shows the traceback, without local variables, redacted).
"""

from __future__ import annotations

import logging
import os
import sys

import typer

from . import (
    accounts_cmd,
    add,
    archive,
    config_cmd,
    cron,
    demo,
    digest,
    link,
    list_cmd,
    providers_cmd,
    sandbox_cmd,
    show,
    sync_cmd,
    watch,
)

try:  # typer >= 0.29 vendors click; older releases use click itself
    from typer import TyperException as CLICK_ERROR
except ImportError:  # pragma: no cover - depends on the installed typer
    from click import (  # type: ignore[import-not-found,no-redef,assignment,unused-ignore]
        ClickException as CLICK_ERROR,
    )

app = typer.Typer(
    name="parcelctl",
    help="Track parcels from Kuaishou, Taobao, Douyin and any carrier — in the terminal and "
    "from cron.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

app.command("add")(add.main)
app.command("sync")(sync_cmd.main)
app.command("list")(list_cmd.main)
app.command("show")(show.main)
app.command("archive")(archive.archive)
app.command("rm")(archive.remove)
app.command("link")(link.link)
app.command("unlink")(link.unlink)
app.command("accounts")(accounts_cmd.main)
app.command("watch")(watch.main)
app.command("digest")(digest.main)
app.add_typer(cron.app, name="cron")
app.add_typer(config_cmd.app, name="config")
app.command("providers")(providers_cmd.main)
app.add_typer(sandbox_cmd.app, name="sandbox")
app.command("demo")(demo.main)


def _version_callback(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"parcelctl {__version__}")
        raise typer.Exit()


@app.callback()
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


def _setup_logging(debug: bool) -> None:
    from ..http import RedactingFilter

    root = logging.getLogger("parcelctl")
    if getattr(root, "_parcelctl_configured", False) and not debug:
        return
    root.handlers.clear()
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.ERROR)
    root.propagate = False
    root._parcelctl_configured = True  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> None:
    from ..errors import ExitCode, ParcelctlError
    from .output import error

    args = list(sys.argv[1:] if argv is None else argv)
    debug = _debug_enabled(args)
    _setup_logging(debug)
    code: int = 0
    try:
        result = app(args=args, prog_name="parcelctl", standalone_mode=False)
        # Without standalone mode, click hands typer.Exit codes back as the return value.
        if isinstance(result, int):
            code = result
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.Abort:
        code = ExitCode.INTERRUPTED
    except CLICK_ERROR as exc:
        show = getattr(exc, "show", None)  # usage errors print themselves, with the usage line
        if callable(show):
            show()
        else:
            error(str(exc))
        code = exc.exit_code
    except KeyboardInterrupt:
        error("interrupted")
        code = ExitCode.INTERRUPTED
    except ParcelctlError as exc:
        if debug:
            _print_traceback()
        error(exc.render())
        code = int(exc.exit_code)
    except Exception as exc:
        from ..http import redact

        if debug:
            _print_traceback()
        error(redact(f"unexpected error: {type(exc).__name__}: {exc}")
              + " — run again with --debug for details and report it")
        code = ExitCode.ERROR
    sys.stdout.flush()
    sys.exit(code)


def _print_traceback() -> None:
    import traceback

    from ..http import redact

    # No locals: they may hold tokens. Text redacted like every log line.
    sys.stderr.write(redact(traceback.format_exc()))
