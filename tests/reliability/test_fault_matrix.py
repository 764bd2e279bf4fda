"""Issue 5 §1: every remote service × every injected fault, through ``parcelctl sync``.

For each case the faulted service fails (or, for ``slow``, succeeds late) while the others
answer normally, and the test asserts what the README's fault matrix promises:

* the documented exit code (3: the others were saved; 0 for a slow answer);
* exactly one line on stderr, naming the provider and the next step, no traceback;
* the other providers' results saved, equal to a home that never saw a fault;
* the failing provider's stored rows unchanged, byte for byte (and a linked account keeps a
  refresh token the server still accepts);
* after the fault is cleared, the next plain ``sync`` ends with exactly the content of the
  fault-free home (normalized ``list --all --json``: our own bookkeeping times removed).

Cases of one fault kind run side by side, each against its own sandbox (same dataset).
"""

from __future__ import annotations

import json
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from parcelctl.sandbox.server import FAULT_KINDS, RunningSandbox

from . import world
from .forkcli import ForkCli

SERVICES = (*world.TRACKERS, "kuaishou")
#: Every fault kind of one service at once: the matrix waits on timeouts and backoffs far
#: more than it computes.
WORKERS = len(FAULT_KINDS)

#: Short client timeout for the matrix so that ``hang`` costs seconds, not minutes.
HANG_TIMEOUT = 1.0
#: Faster than the polite defaults (the sandbox allows it), or the matrix would spend most
#: of its time in rate-limit waits; test_limits.py checks the defaults.
FAST = {"providers.cainiao.rate_per_second": 20, "providers.kuaishou.rate_per_second": 150}


@pytest.fixture(scope="module")
def homes(tmp_path_factory: pytest.TempPathFactory) -> world.HomeFactory:
    return world.HomeFactory(tmp_path_factory.mktemp("templates"), extra=FAST)


def _stored_tokens(home: Path) -> dict[str, Any]:
    secrets = json.loads((home / "secrets.json").read_text())
    return json.loads(secrets["tokens.kuaishou.default"])  # type: ignore[no-any-return]


def snapshot(home: Path, service: str) -> dict[str, Any]:
    """The failing service's stored data: every column of its rows."""
    with closing(world.connect(home)) as db:
        if service == "kuaishou":
            return world.account_parcels(db, "kuaishou") | {
                "tokens": _stored_tokens(home)}
        return world.raw_rows(db, service)


def assert_one_line(stderr: str, service: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    line = lines[0]
    assert line.startswith(f"error: {service}"), line
    # "<provider>: <what happened> — <what to do next>"
    what, _, next_step = line.partition(" — ")
    assert what and len(next_step.split()) >= 3, line
    return line


def assert_others_saved(home: Path, service: str, ref: world.Reference) -> None:
    """Every parcel the failing service has nothing to do with equals the reference."""
    with closing(world.connect(home)) as db:
        content = world.parcel_content(db)
        from_kuaishou = {(r[0], r[1]) for r in db.execute(
            "SELECT p.carrier, p.number FROM parcels p JOIN sources s ON s.parcel_id = p.id"
            " WHERE s.provider = 'kuaishou'")}
    checked = 0
    for key, ref_parcel in ref.content.items():
        if ref_parcel["tracking_provider"] == service:
            continue  # the failing tracker's parcels (manual and from orders)
        if service == "kuaishou" and key in {k for k, v in ref.content.items()
                                             if any(s[0] == "kuaishou" for s in v["sources"])}:
            continue  # the failing account's orders
        assert content.get(key) == ref_parcel, (service, key)
        checked += 1
    assert checked >= 3
    if service == "kuaishou":
        assert not from_kuaishou  # nothing half-imported


def run_case(fork: ForkCli, running: RunningSandbox, home: Path, service: str, kind: str,
             ref: world.Reference, homes: world.HomeFactory) -> None:
    homes.make(home, running, timeout=HANG_TIMEOUT if kind == "hang" else None)
    before = snapshot(home, service)
    seconds = HANG_TIMEOUT + 0.6 if kind == "hang" else 0.3
    world.fault(running, service, kind, seconds=seconds)
    result = fork.run(home, "sync", timeout=90)
    world.clear_faults(running)
    if kind == "slow":  # late but within the timeout: a normal, complete sync
        assert result.returncode == 0, result.stderr
        assert result.stderr.strip() == ""
    else:
        assert result.returncode == 3, (service, kind, result.returncode, result.stderr)
        assert_one_line(result.stderr, service)
        after = snapshot(home, service)
        if service == "kuaishou":
            assert after == before  # no order imported, tokens untouched
            assert world.refresh_token_alive(running, after["tokens"]["refresh_token"])
        else:
            # Waybills the (healthy) shop import brought in are new rows: untracked.
            old_ids = {row[0] for row in before["parcels"]}
            assert [r for r in after["parcels"] if r[0] in old_ids] == before["parcels"]
            assert after["events"] == before["events"]
            with closing(world.connect(home)) as db:
                tracked = db.execute(
                    "SELECT count(*) FROM parcels WHERE tracking_provider=?"
                    " AND checked_at IS NOT NULL", (service,)).fetchone()[0]
            assert tracked == 0
        assert_others_saved(home, service, ref)
        recovered = fork.run(home, "sync", timeout=90)
        assert recovered.returncode == 0, (service, kind, recovered.stderr)
        assert recovered.stderr.strip() == ""
    assert world.normalized_list(world.list_all_json(home)) == ref.listing, (service, kind)


def _revoked(fork: ForkCli, running: RunningSandbox, home: Path, ref: world.Reference) -> None:
    """The user revoked the app: exit 4 and "link again", the rest saved; linking again
    brings everything back."""
    world.control(running, "service/kuaishou", {"revoke": True})
    result = fork.run(home, "sync")
    assert result.returncode == 4, result.stderr
    line = assert_one_line(result.stderr, "kuaishou")
    assert "parcelctl link kuaishou" in line
    assert_others_saved(home, "kuaishou", ref)
    with closing(world.connect(home)) as db:
        assert db.execute("SELECT health FROM accounts").fetchone()[0] == "reauth"
    world.link_kuaishou(home)
    assert fork.run(home, "sync").returncode == 0
    assert world.normalized_list(world.list_all_json(home)) == ref.listing


def _refresh_down(fork: ForkCli, running: RunningSandbox, home: Path,
                  ref: world.Reference) -> None:
    """The token endpoint fails while the access token needs renewing: the stored refresh
    token is still the valid one (a refresh is never retried blindly, never half-saved)."""
    world.control(running, "service/kuaishou", {"access_ttl": 1})
    world.link_kuaishou(home)
    world.control(running, "service/kuaishou", {"access_ttl": 172800})
    before = snapshot(home, "kuaishou")
    world.fault(running, "kuaishou", "http503", endpoint="refresh_token")
    result = fork.run(home, "sync")
    world.clear_faults(running)
    assert result.returncode == 3, result.stderr
    assert_one_line(result.stderr, "kuaishou")
    assert snapshot(home, "kuaishou") == before
    assert world.refresh_token_alive(running, before["tokens"]["refresh_token"])
    assert fork.run(home, "sync").returncode == 0
    assert world.normalized_list(world.list_all_json(home)) == ref.listing


def _second_call_down(fork: ForkCli, running: RunningSandbox, home: Path,
                      ref: world.Reference) -> None:
    """17TRACK accepts the registration, then its gettrackinfo fails: nothing stored."""
    before = snapshot(home, "17track")
    world.fault(running, "17track", "http500", endpoint="gettrackinfo")
    result = fork.run(home, "sync")
    world.clear_faults(running)
    assert result.returncode == 3, result.stderr
    assert_one_line(result.stderr, "17track")
    after = snapshot(home, "17track")
    assert after == before
    assert fork.run(home, "sync").returncode == 0
    assert world.normalized_list(world.list_all_json(home)) == ref.listing


def _blip(fork: ForkCli, running: RunningSandbox, home: Path, ref: world.Reference) -> None:
    """Two failed answers, then the service is back: the retries absorb it (exit 0)."""
    world.fault(running, "kuaidi100", "http503", count=2)
    result = fork.run(home, "sync")
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""
    assert world.normalized_list(world.list_all_json(home)) == ref.listing


def _wrong_key(fork: ForkCli, running: RunningSandbox, home: Path,
               ref: world.Reference) -> None:
    """A rejected key is the user's to fix: exit 3, the line says which setting."""
    world.config_for(home).set("providers.kuaidi100.key", "not-the-key")
    before = snapshot(home, "kuaidi100")
    result = fork.run(home, "sync")
    assert result.returncode == 3, result.stderr
    line = assert_one_line(result.stderr, "kuaidi100")
    assert "providers.kuaidi100.key" in line and "not-the-key" not in line
    assert [r for r in snapshot(home, "kuaidi100")["parcels"]
            if r[0] in {p[0] for p in before["parcels"]}] == before["parcels"]
    world.configure(home, running, names=("kuaidi100",), timeout=10.0)
    assert fork.run(home, "sync").returncode == 0
    assert world.normalized_list(world.list_all_json(home)) == ref.listing


@pytest.mark.timeout(90)
def test_special_faults(fleet: list[RunningSandbox], reference: world.Reference,
                        forks: list[ForkCli], homes: world.HomeFactory,
                        tmp_path: Path) -> None:
    """Auth (exit 4), one endpoint of a service, a transient blip, a rejected key."""
    cases = [_revoked, _refresh_down, _second_call_down, _blip, _wrong_key]

    def run(case: Any, fork: ForkCli, running: RunningSandbox) -> None:
        case(fork, running, homes.make(tmp_path / case.__name__, running), reference)

    with ThreadPoolExecutor(len(cases)) as pool:
        futures = [pool.submit(run, case, fork, running)
                   for case, fork, running in zip(cases, forks, fleet, strict=False)]
        for future in futures:
            future.result()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("service", SERVICES)
def test_fault_matrix(service: str, fleet: list[RunningSandbox], reference: world.Reference,
                      forks: list[ForkCli], homes: world.HomeFactory, tmp_path: Path) -> None:
    """``service`` × every fault kind; the kinds run side by side, one sandbox each."""
    queue = list(FAULT_KINDS)
    failures: dict[str, str] = {}
    lock = threading.Lock()

    def worker(fork: ForkCli, running: RunningSandbox) -> None:
        while True:
            with lock:
                if not queue:
                    return
                kind = queue.pop(0)
            try:
                run_case(fork, running, tmp_path / kind, service, kind, reference, homes)
            except BaseException as exc:  # collected: every kind is reported, not the first
                failures[kind] = "".join(traceback.format_exception(exc))

    with ThreadPoolExecutor(len(forks)) as pool:
        for future in [pool.submit(worker, f, r) for f, r in zip(forks, fleet, strict=True)]:
            future.result()
    assert not failures, "\n".join(f"--- {service} × {k}\n{v}" for k, v in failures.items())
