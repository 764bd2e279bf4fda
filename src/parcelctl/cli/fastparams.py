"""Start-up cost: simple options (str, int, float, bool, list[str]) without pydantic adapters.

Recent Typer releases coerce every parameter through a pydantic ``TypeAdapter``; building the
first one imports pydantic, which costs more than the rest of ``parcelctl list`` put
together. Every parcelctl option is a plain string, integer, number or flag, so the common case is
decided here without pydantic: a value that is already of the right type, or a plain decimal
string, within the option's ``min``/``max``; a repeatable ``list[str]`` option or argument
(``sync --provider``, ``add NUMBER...``) whose values are all strings becomes the list the
adapter would build. Anything else (a bad value, an out-of-range number, other lists, paths,
choices, custom parsers) goes to Typer's own coercion, so results and error messages stay
exactly Typer's. On a Typer without this machinery nothing is changed.

Why keep a patch of Typer's private API: ``bench/startup_patches.py`` measured ``parcelctl
list`` at 226 ms of CPU with it and 375 ms without (Typer 0.29.2, pydantic 2.14; median of
10 runs, 2026-12-07): it is 40% of start-up. ``tests/unit/test_fast_paths.py`` fails when
Typer moves the internals this relies on. Drop it when Typer stops building a pydantic
adapter for plain str/int/float/bool options, or imports pydantic lazily itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, get_args, get_origin

_INT = re.compile(r"-?[0-9]{1,18}", re.ASCII)
_FLOAT = re.compile(r"-?[0-9]{1,15}(?:\.[0-9]{1,15})?", re.ASCII)
_STR_LIST = "list[str]"  # marker: the annotation is list[str]


def _simple(annotation: Any) -> Any:
    """The annotation :class:`_Fast` decides by itself, or None."""
    if annotation in (str, int, float, bool):
        return annotation
    if get_origin(annotation) is list and get_args(annotation) == (str,):
        return _STR_LIST
    return None


class _Fast:
    """Duck-types Typer's ``RuntimeParam.coerce`` for one simple parameter."""

    __slots__ = ("_build", "_slow", "annotation", "high", "low")

    def __init__(self, annotation: Any, low: Any, high: Any,
                 build: Callable[[], Any]) -> None:
        self.annotation = annotation
        self.low = low
        self.high = high
        self._build = build
        self._slow: Any = None

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        multi = bool(getattr(param, "multiple", False)) or getattr(param, "nargs", 1) == -1
        if value is None:
            # What Typer's RuntimeParam.coerce answers, before any adapter.
            return () if multi else None
        if multi:
            if self.annotation is _STR_LIST and type(value) in (tuple, list) and all(
                    type(item) is str for item in value):
                return list(value)  # pydantic's list[str] adapter builds the same list
        elif self.annotation is not _STR_LIST:
            fast = self._fast(value)
            if fast is not None:
                return fast
        if self._slow is None:
            self._slow = self._build()
        return self._slow.coerce(value, param=param, ctx=ctx)

    def _fast(self, value: Any) -> Any:
        kind = type(value)
        if self.annotation is str:
            return value if kind is str else None
        if self.annotation is bool:
            return value if kind is bool else None
        number: int | float
        if self.annotation is int:
            if kind is int:
                number = value
            elif kind is str and _INT.fullmatch(value):
                number = int(value)
            else:
                return None
        else:
            if kind is float:
                number = value
            elif kind is str and _FLOAT.fullmatch(value):
                number = float(value)
            else:
                return None
        if (self.low is not None and number < self.low) or (
                self.high is not None and number > self.high):
            return None  # Typer words the range error
        return number


def install() -> None:
    """Route simple parameters through :class:`_Fast` (idempotent, no-op if unsupported)."""
    try:
        from typer import _coercion, core
    except ImportError:  # an older Typer: click types, no pydantic at all
        return
    cls: Any = getattr(core, "_TyperParameter", None)
    build: Any = getattr(_coercion, "build_runtime_param", None)
    original: Any = getattr(cls, "get_runtime_param", None)
    if cls is None or build is None or original is None or getattr(original, "_parcelctl", False):
        return

    def get_runtime_param(self: Any) -> Any:
        if getattr(self, "_runtime_param", None) is None:
            descriptor = getattr(self, "type_descriptor", None)
            info = getattr(descriptor, "parameter_info", None)
            annotation = _simple(getattr(descriptor, "annotation", None))
            simple = (
                descriptor is not None and info is not None
                and getattr(descriptor, "file_annotation", None) is None
                and getattr(info, "parser", None) is None
                and annotation is not None
                and not (annotation not in (str, _STR_LIST) and getattr(info, "clamp", False))
            )
            if not simple:
                return original(self)
            self._runtime_param = _Fast(annotation, getattr(info, "min", None),
                                        getattr(info, "max", None),
                                        lambda: build(descriptor))
        return self._runtime_param

    get_runtime_param._parcelctl = True  # type: ignore[attr-defined]
    # Tests compare the shim's answers with Typer's own.
    get_runtime_param._parcelctl_original = original  # type: ignore[attr-defined]
    cls.get_runtime_param = get_runtime_param
