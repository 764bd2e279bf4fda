"""Draw the README's picture of ``parcelctl list`` (docs/list.svg) from the demo data.

    python scripts/readme_svg.py          # write docs/list.svg
    python scripts/readme_svg.py --check  # exit 1 if docs/list.svg is not what it draws

It runs what ``parcelctl demo`` runs — the sandbox, a throwaway home, the demo's parcels, a
linked sandbox shop, a sync — then ``parcelctl list`` into a recording Rich console, and
writes it with Rich's own ``Console.save_svg``. The clock is fixed (every ``datetime.now``
parcelctl and the sandbox read), so the same code draws the same picture byte for byte:
tests/unit/test_readme_svg.py fails when the committed picture is stale.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SVG = ROOT / "docs" / "list.svg"
#: The instant the picture is drawn at (and the demo world is built around).
NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
WIDTH = 100
COMMAND = ["list"]


class _AnyDatetime(type):
    """``isinstance(x, datetime)`` in a patched module still accepts every real datetime
    (the boundary vets the types of what providers return)."""

    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, datetime)


class _FrozenDatetime(datetime, metaclass=_AnyDatetime):
    @classmethod
    def now(cls, tz: tzinfo | None = None) -> Any:
        frozen = cls.fromtimestamp(NOW.timestamp(), tz=UTC)
        return frozen.astimezone(tz) if tz is not None else frozen.astimezone().replace(
            tzinfo=None)

    @classmethod
    def utcnow(cls) -> Any:
        return cls.now(UTC).replace(tzinfo=None)


def _freeze_clock() -> None:
    """Every loaded parcelctl module that imported ``datetime`` reads the fixed clock."""
    for name, module in list(sys.modules.items()):
        if name.startswith("parcelctl") and getattr(module, "datetime", None) is datetime:
            module.datetime = _FrozenDatetime  # type: ignore[attr-defined]


def draw() -> str:
    """The SVG text."""
    os.environ["TZ"] = "Asia/Shanghai"
    time.tzset()
    os.environ["PARCELCTL_SECRETS"] = "file"
    os.environ.pop("NO_COLOR", None)
    os.environ["COLUMNS"] = str(WIDTH)
    with tempfile.TemporaryDirectory(prefix="parcelctl-svg-") as home:
        os.environ["PARCELCTL_HOME"] = home
        from rich.console import Console

        import parcelctl.cli.app
        import parcelctl.cli.demo as demo
        import parcelctl.cli.output as output
        import parcelctl.sandbox.base
        import parcelctl.sandbox.dataset
        import parcelctl.store
        import parcelctl.sync
        import parcelctl.views  # noqa: F401
        from parcelctl.sandbox.server import RunningSandbox, Sandbox

        _freeze_clock()
        quiet = Console(file=io.StringIO(), width=WIDTH)
        output._out = quiet
        output._err = Console(file=io.StringIO(), width=WIDTH, stderr=True)
        with RunningSandbox(Sandbox()) as running:
            _freeze_clock()  # modules the sandbox loaded
            demo._configure(running.sandbox.credentials())
            for args in demo.DEMO_PARCELS:
                _run(args)
            demo._link_demo_shop(running.base_url)
            _freeze_clock()
            _run(["sync"])
        recorder = Console(record=True, width=WIDTH, force_terminal=True,
                           color_system="truecolor", file=io.StringIO(), legacy_windows=False)
        output._out = recorder
        _run(COMMAND)
        # save_svg's own unique id is a hash of the content: the same picture, the same file.
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "list.svg"
            recorder.save_svg(str(path), title="parcelctl " + " ".join(COMMAND))
            return path.read_text(encoding="utf-8")


def _run(args: list[str]) -> None:
    import typer

    from parcelctl.cli.app import app

    with contextlib.suppress(typer.Exit):
        app(args=args, prog_name="parcelctl", standalone_mode=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="compare with docs/list.svg instead of writing it")
    args = parser.parse_args(argv)
    svg = draw()
    if args.check:
        current = SVG.read_text(encoding="utf-8") if SVG.exists() else ""
        if current != svg:
            print(f"{SVG.relative_to(ROOT)} is stale: run python scripts/readme_svg.py",
                  file=sys.stderr)
            return 1
        return 0
    SVG.parent.mkdir(parents=True, exist_ok=True)
    SVG.write_text(svg, encoding="utf-8")
    print(f"wrote {SVG.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
