"""Kill points for the crash tests: ``install("point=N")`` makes the process SIGKILL itself
the N-th time it reaches ``point``. A self-inflicted SIGKILL is the same as one from outside
(no handler, no cleanup, no flush), only placed exactly where a timer rarely lands: in the
middle of a transaction, between a token rotation on the server and its local save, in the
middle of an atomic file write.

Points:

* ``http_send`` — just before a request leaves; ``http_recv`` — just after its full answer
  arrived (the server has acted: a refresh token may already be rotated);
* ``apply_result`` — after that many parcel writes inside a transaction; ``import_orders``
  — after that many pages of the shop import were written into its open transaction;
* ``commit_before`` / ``commit_after`` — around the COMMIT of the N-th write transaction
  (streamed imports included);
* ``save_tokens_before`` / ``save_tokens_after`` — around persisting rotated OAuth tokens;
* ``secrets_replace`` — secrets.json temp file written and synced, not yet renamed;
* ``finish_run`` — every unit committed, the run record not yet written;
* ``after_sync`` — everything stored, notifications about to go out.
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from pathlib import Path
from typing import Any

_hits: Counter[str] = Counter()
_target: tuple[str, int] = ("", 0)
_signal = signal.SIGKILL


def hit(point: str) -> None:
    _hits[point] += 1
    if _target == (point, _hits[point]):
        os.kill(os.getpid(), _signal)


def install(spec: str) -> None:
    """``point=N``, or ``point=N:INT`` for a Ctrl-C (SIGINT) there instead of a kill."""
    global _target, _signal
    spec, _, how = spec.partition(":")
    point, _, count = spec.partition("=")
    _target = (point, int(count or 1))
    _signal = signal.SIGINT if how == "INT" else signal.SIGKILL

    import httpx

    import parcelctl.config as config
    import parcelctl.notify as notify
    import parcelctl.sync as sync
    from parcelctl.store import Store

    send = httpx.AsyncClient.send

    async def hooked_send(self: httpx.AsyncClient, request: httpx.Request, **kw: Any
                          ) -> httpx.Response:
        hit("http_send")
        response = await send(self, request, **kw)
        if not kw.get("stream"):
            hit("http_recv")
        return response

    httpx.AsyncClient.send = hooked_send  # type: ignore[method-assign]

    import parcelctl.http as http

    complete = http.complete

    def hooked_complete(streamed: httpx.Response, body: bytes) -> httpx.Response:
        # A streamed answer (HttpClient reads bodies capped) has fully arrived here.
        response = complete(streamed, body)
        hit("http_recv")
        return response

    http.complete = hooked_complete

    def after(method_name: str) -> None:
        original = getattr(Store, method_name)

        def wrapper(self: Store, *args: Any, **kwargs: Any) -> Any:
            result = original(self, *args, **kwargs)
            hit(method_name)
            return result

        setattr(Store, method_name, wrapper)

    for name in ("apply_result", "import_orders"):
        after(name)

    original_finish = Store.finish_run

    def finish_run(self: Store, *args: Any, **kwargs: Any) -> None:
        hit("finish_run")
        original_finish(self, *args, **kwargs)

    Store.finish_run = finish_run  # type: ignore[method-assign]

    commit = Store.commit

    def hooked_commit(self: Store) -> None:
        # The product's own COMMIT (every transaction and streamed import goes through it).
        hit("commit_before")
        commit(self)
        hit("commit_after")

    Store.commit = hooked_commit  # type: ignore[method-assign]

    save_tokens = getattr(sync, "save_tokens")  # noqa: B009 - imported name, patched below

    def hooked_save(*args: Any, **kwargs: Any) -> None:
        hit("save_tokens_before")
        save_tokens(*args, **kwargs)
        hit("save_tokens_after")

    setattr(sync, "save_tokens", hooked_save)  # noqa: B010

    atomic_write = config.atomic_write

    def hooked_write(path: Path, data: bytes, mode: int = 0o600) -> None:
        if path.name != "secrets.json":
            atomic_write(path, data, mode)
            return
        real_replace = os.replace

        def replace(src: Any, dst: Any) -> None:
            hit("secrets_replace")
            real_replace(src, dst)

        os.replace = replace  # type: ignore[assignment]
        try:
            atomic_write(path, data, mode)
        finally:
            os.replace = real_replace

    config.atomic_write = hooked_write

    after_sync = notify.after_sync

    def hooked_after_sync(*args: Any, **kwargs: Any) -> Any:
        hit("after_sync")
        return after_sync(*args, **kwargs)

    notify.after_sync = hooked_after_sync
