"""Notifications: rules, once-only recording across restarts, quiet hours, channels."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from parcelctl.config import Config
from parcelctl.models import CHINA_TZ
from parcelctl.notify import (
    AppriseChannel,
    ChannelError,
    CommandChannel,
    DesktopChannel,
    Message,
    Notifier,
    Settings,
    after_sync,
    encode_body,
    parse_quiet_hours,
    sign,
)
from parcelctl.store import Change, Store, iso
from parcelctl.sync import SyncSummary

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=CHINA_TZ)


def clock(at: datetime) -> Any:
    return lambda: at


@pytest.fixture
def config(parcelctl_home: Path) -> Config:
    cfg = Config()
    cfg.set("notify.timezone", "Asia/Shanghai")
    return cfg


@pytest.fixture
def store(config: Config) -> Iterator[Store]:
    config.paths.ensure()
    with Store(config.paths.db_file) as opened:
        yield opened


def add_parcel(store: Store, number: str = "SF1321934960512", *, status: str = "in_transit",
               last_event: datetime = NOON - timedelta(hours=1), desc: str = "快件派送中",
               pickup: str | None = None, kind: str = "waybill",
               promised: datetime | None = None) -> int:
    with store.transaction():
        pid, _ = store.add_parcel(number, "shunfeng" if kind == "waybill" else "",
                                  tracking_provider="kuaidi100", kind=kind, label="耳机")
        store.db.execute(
            "UPDATE parcels SET status=?, last_event_utc=?, last_event_time=?,"
            " last_event_desc=?, pickup_code=?, promised_ship_at=? WHERE id=?",
            (status, iso(last_event), last_event.isoformat(), desc, pickup,
             iso(promised) if promised else None, pid))
    return pid


def change(store: Store, pid: int, old: str, new: str) -> Change:
    store.db.execute("UPDATE parcels SET status=? WHERE id=?", (new, pid))
    row = store.get(pid)
    return Change(pid, str(row["number"]), str(row["carrier"]), old, new, 1,
                  pickup_code=row["pickup_code"])


def summary(*changes: Change) -> SyncSummary:
    return SyncSummary(changes=list(changes))


def command_log(config: Config, tmp_path: Path, *, fail_unless: Path | None = None) -> Path:
    """The command channel appends each JSON payload to a file (optionally failing first)."""
    out = tmp_path / "notes.jsonl"
    run = f"cat >> {out}"
    if fail_unless is not None:
        run = f"test -e {fail_unless} || {{ echo 'not yet' >&2; exit 7; }}; {run}"
    config.set("notify.command.run", run)
    return out


def lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def count(store: Store, sql: str) -> int:
    return int(store.db.execute(sql).fetchone()[0])


# -- rules and settings ---------------------------------------------------------------------

def test_default_rules_notify_the_statuses_that_matter(config: Config, store: Store,
                                                       tmp_path: Path) -> None:
    out = command_log(config, tmp_path)
    pid = add_parcel(store)
    other = add_parcel(store, "773027491214552", status="info_received")
    after_sync(config, store, summary(change(store, pid, "in_transit", "out_for_delivery"),
                                      change(store, other, "info_received", "in_transit")),
               clock=clock(NOON))
    got = lines(out)
    assert [(p["number"], p["new_status"]) for p in got] == [("SF1321934960512",
                                                              "out_for_delivery")]
    payload = got[0]
    assert payload["type"] == "status_change"
    assert payload["old_status"] == "in_transit"
    assert payload["kind"] == "waybill"  # the parcel's own field, as in list --json
    assert payload["tracking_number"] == "SF1321934960512"
    assert payload["status_label"] == "派送中"
    assert payload["notification_id"] == 1
    assert payload["message"] == "派送中 · SF1321934960512"
    assert "耳机" in payload["text"]


def test_custom_rules_and_bad_values(config: Config, store: Store, tmp_path: Path) -> None:
    config.set("notify.on", ["in_transit", "bogus"])
    config.set("notify.quiet_hours", "late")
    settings = Settings.from_config(config)
    assert settings.on == {"in_transit"}
    assert settings.quiet is None
    assert any("bogus" in p for p in settings.problems)
    assert any("quiet_hours" in p for p in settings.problems)
    config.set("notify.on", "delivered, exception")  # a comma list is accepted too
    assert Settings.from_config(config).on == {"delivered", "exception"}


def test_ready_for_pickup_carries_the_code(config: Config, store: Store, tmp_path: Path) -> None:
    out = command_log(config, tmp_path)
    pid = add_parcel(store, pickup="3-2-1107", desc="请凭取件码 3-2-1107 及时取件")
    after_sync(config, store, summary(change(store, pid, "in_transit", "ready_for_pickup")),
               clock=clock(NOON))
    (payload,) = lines(out)
    assert payload["pickup_code"] == "3-2-1107"
    assert payload["text"].startswith("耳机\n取件码 3-2-1107")


def test_english_messages(config: Config, store: Store, tmp_path: Path) -> None:
    config.set("display.language", "en")
    out = command_log(config, tmp_path)
    pid = add_parcel(store, pickup="692035")
    after_sync(config, store, summary(change(store, pid, "in_transit", "ready_for_pickup")),
               clock=clock(NOON))
    (payload,) = lines(out)
    assert payload["message"] == "ready for pickup · SF1321934960512"
    assert "pickup code 692035" in payload["text"]


# -- once only ------------------------------------------------------------------------------

def test_same_change_is_recorded_once_across_store_reopen(config: Config, tmp_path: Path) -> None:
    out = command_log(config, tmp_path)
    config.paths.ensure()
    with Store(config.paths.db_file) as first:
        pid = add_parcel(first)
        delivered = change(first, pid, "out_for_delivery", "delivered")
        after_sync(config, first, summary(delivered), clock=clock(NOON))
    with Store(config.paths.db_file) as second:  # a restart: new connection, new objects
        after_sync(Config(), second, summary(delivered), clock=clock(NOON + timedelta(hours=1)))
        assert count(second, "SELECT count(*) FROM notifications") == 1
        assert count(second, "SELECT count(*) FROM deliveries WHERE delivered_at IS NULL") == 0
    assert len(lines(out)) == 1


def test_same_change_is_recorded_once_across_processes(config: Config, store: Store,
                                                        tmp_path: Path) -> None:
    out = command_log(config, tmp_path)
    pid = add_parcel(store)
    after_sync(config, store, summary(change(store, pid, "in_transit", "exception")),
               clock=clock(NOON))
    script = textwrap.dedent(f"""
        from parcelctl.config import Config
        from parcelctl.notify import after_sync
        from parcelctl.store import Change, Store
        from parcelctl.sync import SyncSummary
        config = Config()
        with Store(config.paths.db_file) as store:
            after_sync(config, store, SyncSummary(changes=[
                Change({pid}, "SF1321934960512", "shunfeng", "in_transit", "exception", 1)]))
    """)
    for _ in range(2):
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stderr
    assert len(lines(out)) == 1
    assert count(store, "SELECT count(*) FROM notifications") == 1


def test_a_later_real_change_to_the_same_status_notifies_again(config: Config, store: Store,
                                                               tmp_path: Path) -> None:
    out = command_log(config, tmp_path)
    pid = add_parcel(store)
    after_sync(config, store, summary(change(store, pid, "in_transit", "out_for_delivery")),
               clock=clock(NOON))
    # Failed attempt, then out for delivery again the next day: a new event, a new change.
    store.db.execute("UPDATE parcels SET last_event_utc=? WHERE id=?",
                     (iso(NOON + timedelta(days=1)), pid))
    after_sync(config, store, summary(change(store, pid, "exception", "out_for_delivery")),
               clock=clock(NOON + timedelta(days=1)))
    assert [p["new_status"] for p in lines(out)] == ["out_for_delivery", "out_for_delivery"]


def test_first_import_backlog_is_not_news(config: Config, store: Store, tmp_path: Path) -> None:
    out = command_log(config, tmp_path)
    old = add_parcel(store, "YT6247854916511", last_event=NOON - timedelta(days=5))
    fresh = add_parcel(store, "JDVA11408814483", last_event=NOON - timedelta(hours=2))
    changes = [Change(old, "YT6247854916511", "yuantong", "", "info_received", 0,
                      first_import=True),
               change(store, old, "info_received", "delivered"),
               Change(fresh, "JDVA11408814483", "jd", "", "info_received", 0, first_import=True),
               change(store, fresh, "info_received", "out_for_delivery")]
    after_sync(config, store, summary(*changes), clock=clock(NOON))
    assert [p["number"] for p in lines(out)] == ["JDVA11408814483"]


def test_a_later_imports_new_parcel_is_news_however_old(config: Config, store: Store,
                                                        tmp_path: Path) -> None:
    """The backlog rule is for a shop's first import. An order of a shop linked long ago
    that shipped and reached a locker while the laptop was off is news."""
    out = command_log(config, tmp_path)
    pid = add_parcel(store, "YT6247854916511", last_event=NOON - timedelta(hours=30))
    changes = [Change(pid, "YT6247854916511", "yuantong", "", "info_received", 0),
               change(store, pid, "info_received", "ready_for_pickup")]
    after_sync(config, store, summary(*changes), clock=clock(NOON))
    assert [(p["number"], p["new_status"]) for p in lines(out)] == [
        ("YT6247854916511", "ready_for_pickup")]


def test_first_import_without_scans_uses_the_platforms_update_time(
        config: Config, store: Store, tmp_path: Path) -> None:
    """A shop's orders come without tracking events: a 10,000-order first import must not
    announce thousands of long-delivered orders, only what changed within the backlog."""
    out = command_log(config, tmp_path)
    old = add_parcel(store, "YT6247854916511", status="delivered")
    fresh = add_parcel(store, "JDVA11408814483", status="delivered")
    for pid, updated in ((old, NOON - timedelta(days=30)), (fresh, NOON - timedelta(hours=3))):
        store.db.execute("UPDATE parcels SET last_event_utc=NULL, last_event_time=NULL,"
                         " updated_at=? WHERE id=?", (iso(updated), pid))
    changes = [Change(old, "YT6247854916511", "yuantong", "", "delivered", 0, first_import=True),
               Change(fresh, "JDVA11408814483", "jd", "", "delivered", 0, first_import=True)]
    after_sync(config, store, summary(*changes), clock=clock(NOON))
    assert [p["number"] for p in lines(out)] == ["JDVA11408814483"]


def test_old_news_of_a_paged_import_is_one_log_line_per_run(
        config: Config, store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A shop's first import records page by page; the log says "old news" once, in total."""
    from parcelctl.notify import Recorder

    out = command_log(config, tmp_path)
    hook = Recorder(config, store, clock=clock(NOON))
    for page in range(3):
        pids = [add_parcel(store, f"YT62478549{page}{i:04d}", status="delivered",
                           last_event=NOON - timedelta(days=9)) for i in range(4)]
        with store.transaction():  # as the sync calls it: inside the page's transaction
            hook([Change(pid, str(store.get(pid)["number"]), "yuantong", "", "delivered", 0,
                         first_import=True) for pid in pids])
    assert hook.ok and hook.notifier.old_news == 12
    caplog.set_level("INFO", logger="parcelctl.notify")
    after_sync(config, store, summary(), clock=clock(NOON), recorded=True,
               old_news=hook.notifier.old_news)
    said = [r.getMessage() for r in caplog.records if "old news" in r.getMessage()]
    assert said == ["12 changes of newly imported parcels are old news, not notified"]
    assert lines(out) == []


def test_a_burst_of_notifications_is_one_log_line_and_a_few_are_one_line_each(
        config: Config, store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A line per notification through the redacting file handler was half of a first
    import's after_sync; each notification is in the store anyway."""
    from parcelctl.notify import LOG_EACH

    command_log(config, tmp_path)
    caplog.set_level("INFO", logger="parcelctl.notify")
    few = [add_parcel(store, f"KS-10{i:04d}", kind="order", status="awaiting_shipment",
                      promised=NOON - timedelta(hours=3)) for i in range(2)]
    after_sync(config, store, summary(), clock=clock(NOON))
    said = [r.getMessage() for r in caplog.records if "notification" in r.getMessage()]
    assert sorted(said) == [f"notification {n}: {number} overdue" for n, number in sorted(
        (int(store.db.execute("SELECT id FROM notifications WHERE parcel_id=?", (pid,))
             .fetchone()[0]), str(store.get(pid)["number"])) for pid in few)]
    caplog.clear()
    for i in range(LOG_EACH + 5):
        add_parcel(store, f"KS-20{i:04d}", kind="order", status="awaiting_shipment",
                   promised=NOON - timedelta(hours=3))
    stale_pid = add_parcel(store, "SF1321934960599", status="in_transit")
    with store.transaction():
        Notifier(Settings.from_config(config), store, clock=clock(NOON)).record(
            [change(store, stale_pid, "in_transit", "delivered")])
    after_sync(config, store, summary(), clock=clock(NOON))
    said = [r.getMessage() for r in caplog.records if "notification" in r.getMessage()]
    first = len(few) + 2  # the delivered one took id len(few) + 1
    assert said == ["notification 3: SF1321934960599 delivered",
                    f"{LOG_EACH + 5} notifications recorded ({LOG_EACH + 5} overdue), "
                    f"ids {first} to {first + LOG_EACH + 4}"]
    assert count(store, "SELECT count(*) FROM notifications") == len(few) + LOG_EACH + 6


# -- overdue and stale ----------------------------------------------------------------------

def test_overdue_order_notifies_once_per_promise(config: Config, store: Store,
                                                 tmp_path: Path) -> None:
    out = command_log(config, tmp_path)
    pid = add_parcel(store, "KUAISHOU-2407150001", kind="order", status="awaiting_shipment",
                     promised=NOON - timedelta(hours=3))
    add_parcel(store, "KUAISHOU-2407150002", kind="order", status="awaiting_shipment",
               promised=NOON + timedelta(hours=10))  # not due yet
    for hours in (0, 1, 2):
        after_sync(config, store, summary(), clock=clock(NOON + timedelta(hours=hours)))
    assert [(p["type"], p["number"]) for p in lines(out)] == [("overdue", "KUAISHOU-2407150001")]
    assert lines(out)[0]["message"] == "超时未发货 · KUAISHOU-2407150001"
    store.db.execute("UPDATE parcels SET promised_ship_at=? WHERE id=?",
                     (iso(NOON + timedelta(hours=4)), pid))  # the shop extended it
    after_sync(config, store, summary(), clock=clock(NOON + timedelta(hours=5)))
    assert len(lines(out)) == 2


def test_stale_only_when_asked(config: Config, store: Store, tmp_path: Path) -> None:
    out = command_log(config, tmp_path)
    add_parcel(store, last_event=NOON - timedelta(days=9))
    after_sync(config, store, summary(), clock=clock(NOON))
    assert lines(out) == []
    config.set("notify.on", ["stale"])
    after_sync(config, store, summary(), clock=clock(NOON))
    after_sync(config, store, summary(), clock=clock(NOON + timedelta(hours=1)))
    assert [p["type"] for p in lines(out)] == ["stale"]


# -- quiet hours ----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "local", "quiet"), [
    ("22:00-08:00", "23:30", True), ("22:00-08:00", "03:00", True),
    ("22:00-08:00", "08:00", False), ("22:00-08:00", "21:59", False),
    ("22:00-08:00", "22:00", True), ("13:00-14:00", "13:30", True),
    ("13:00-14:00", "14:30", False), ("13:00-14:00", "12:59", False),
])
def test_quiet_hours_window(text: str, local: str, quiet: bool) -> None:
    settings = Settings(quiet=parse_quiet_hours(text), tz=CHINA_TZ)
    hour, minute = map(int, local.split(":"))
    moment = datetime(2026, 3, 2, hour, minute, tzinfo=CHINA_TZ).astimezone(UTC)
    assert settings.in_quiet_hours(moment) is quiet


@pytest.mark.parametrize("bad", ["22-08", "22:00", "25:00-08:00", "08:00-08:00", ""])
def test_quiet_hours_rejects_malformed(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_quiet_hours(bad)


def test_quiet_hours_defer_then_deliver(config: Config, store: Store, tmp_path: Path) -> None:
    config.set("notify.quiet_hours", "22:00-08:00")
    out = command_log(config, tmp_path)
    pid = add_parcel(store)
    night = datetime(2026, 3, 2, 23, 10, tzinfo=CHINA_TZ)
    after_sync(config, store, summary(change(store, pid, "out_for_delivery", "delivered")),
               clock=clock(night))
    assert lines(out) == []
    assert count(store, "SELECT count(*) FROM notifications") == 1  # recorded at once
    assert count(store, "SELECT attempts FROM deliveries") == 0  # not an attempt
    after_sync(config, store, summary(), clock=clock(night + timedelta(hours=5)))  # 04:10
    assert lines(out) == []
    after_sync(config, store, summary(), clock=clock(night + timedelta(hours=9)))  # 08:10
    assert [p["new_status"] for p in lines(out)] == ["delivered"]
    after_sync(config, store, summary(), clock=clock(night + timedelta(hours=10)))
    assert len(lines(out)) == 1


# -- failures and retries -------------------------------------------------------------------

def test_failing_channel_is_retried_next_run(config: Config, store: Store,
                                             tmp_path: Path) -> None:
    flag = tmp_path / "receiver-up"
    out = command_log(config, tmp_path, fail_unless=flag)
    first, second = add_parcel(store), add_parcel(store, "773027491214552")
    after_sync(config, store, summary(change(store, first, "in_transit", "delivered"),
                                      change(store, second, "in_transit", "exception")),
               clock=clock(NOON))  # never raises: the sync stays successful
    rows = store.db.execute("SELECT * FROM deliveries ORDER BY notification_id").fetchall()
    # Tried once, then skipped for the rest of the run: a dead channel must not stall cron.
    assert [(r["attempts"], r["delivered_at"]) for r in rows] == [(1, None), (0, None)]
    assert "exited with 7: not yet" in rows[0]["last_error"]
    flag.touch()
    after_sync(config, store, summary(), clock=clock(NOON + timedelta(minutes=30)))
    assert [p["number"] for p in lines(out)] == ["SF1321934960512", "773027491214552"]
    rows = store.db.execute("SELECT * FROM deliveries ORDER BY notification_id").fetchall()
    assert [(r["attempts"], r["last_error"]) for r in rows] == [(2, None), (1, None)]
    assert all(r["delivered_at"] for r in rows)


def test_gives_up_when_the_news_is_too_old(config: Config, store: Store,
                                           tmp_path: Path) -> None:
    config.set("notify.retry_hours", 2)
    flag = tmp_path / "receiver-up"
    out = command_log(config, tmp_path, fail_unless=flag)
    pid = add_parcel(store)
    after_sync(config, store, summary(change(store, pid, "in_transit", "delivered")),
               clock=clock(NOON))
    after_sync(config, store, summary(), clock=clock(NOON + timedelta(hours=1)))
    flag.touch()
    after_sync(config, store, summary(), clock=clock(NOON + timedelta(hours=3)))
    assert lines(out) == []
    assert count(store, "SELECT attempts FROM deliveries") == 2


def test_unreadable_webhook_secret_keeps_deliveries_pending(
        config: Config, store: Store, webhook: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    config.set("notify.webhook.url", webhook.url)
    config.set("notify.webhook.secret", "whsec-test-0123456789")

    def locked(self: Config, key: str) -> str:
        raise RuntimeError("keyring is locked")

    pid = add_parcel(store)
    with monkeypatch.context() as patched:
        patched.setattr(Config, "get_secret", locked)
        after_sync(config, store, summary(change(store, pid, "in_transit", "delivered")),
                   clock=clock(NOON))
    assert webhook.received == []  # never sent unsigned
    error = store.db.execute("SELECT last_error FROM deliveries").fetchone()[0]
    assert "keyring is locked" in error
    after_sync(Config(), store, summary(), clock=clock(NOON + timedelta(minutes=30)))
    assert len(webhook.received) == 1
    assert "X-Parcelctl-Signature" in webhook.received[0][0]


def test_one_channel_failing_does_not_stop_another(config: Config, store: Store,
                                                    tmp_path: Path, webhook: Any) -> None:
    command_log(config, tmp_path, fail_unless=tmp_path / "never")
    config.set("notify.webhook.url", webhook.url)
    pid = add_parcel(store)
    after_sync(config, store, summary(change(store, pid, "in_transit", "delivered")),
               clock=clock(NOON))
    assert len(webhook.received) == 1
    state = dict(store.db.execute("SELECT channel, delivered_at IS NOT NULL FROM deliveries"))
    assert state == {"command": 0, "webhook": 1}


def test_after_sync_never_raises(config: Config) -> None:
    class Broken:
        @property
        def db(self) -> Any:
            raise RuntimeError("disk on fire")

    after_sync(config, Broken(), summary(Change(1, "X", "", "a", "delivered", 0)))  # type: ignore[arg-type]


def test_channel_added_later_does_not_replay_history(config: Config, store: Store,
                                                     tmp_path: Path) -> None:
    pid = add_parcel(store)
    after_sync(config, store, summary(change(store, pid, "in_transit", "delivered")),
               clock=clock(NOON))  # no channel yet: recorded only
    out = command_log(config, tmp_path)
    after_sync(config, store, summary(), clock=clock(NOON))
    assert lines(out) == []


# -- channels -------------------------------------------------------------------------------

class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((dict(self.headers), body))  # type: ignore[attr-defined]
        status = self.server.status  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def webhook() -> Iterator[Any]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.received = []  # type: ignore[attr-defined]
    server.status = 204  # type: ignore[attr-defined]
    server.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/parcels"  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_signature_known_answer() -> None:
    # printf '%s' '{"a":1}' | openssl dgst -sha256 -hmac s3cret
    assert sign(b'{"a":1}', "s3cret") == (
        "sha256=5910e62016ef5034272c926c27071992a465c2335cecf41851bda071577f4f6d")


def test_webhook_is_signed_with_the_secret(config: Config, store: Store, webhook: Any) -> None:
    config.set("notify.webhook.url", webhook.url)
    config.set("notify.webhook.secret", "whsec-test-0123456789")
    assert "whsec" not in config.paths.config_file.read_text()  # lives in the secret store
    pid = add_parcel(store, pickup="692035")
    after_sync(config, store, summary(change(store, pid, "in_transit", "ready_for_pickup")),
               clock=clock(NOON))
    (headers, body), = webhook.received
    expected = hmac.new(b"whsec-test-0123456789", body, hashlib.sha256).hexdigest()
    assert headers["X-Parcelctl-Signature"] == f"sha256={expected}"
    assert headers["Content-Type"].startswith("application/json")
    assert headers["X-Parcelctl-Event"] == "status_change"
    payload = json.loads(body)
    assert payload["new_status"] == "ready_for_pickup"
    assert payload["pickup_code"] == "692035"
    assert payload["notification_id"] == 1
    assert body == encode_body(payload)  # the signed bytes are the canonical encoding


def test_webhook_without_secret_has_no_signature(config: Config, store: Store,
                                                 webhook: Any) -> None:
    config.set("notify.webhook.url", webhook.url)
    pid = add_parcel(store)
    after_sync(config, store, summary(change(store, pid, "in_transit", "delivered")),
               clock=clock(NOON))
    (headers, _), = webhook.received
    assert "X-Parcelctl-Signature" not in headers


def test_webhook_http_error_is_retried_and_hides_the_path(config: Config, store: Store,
                                                          webhook: Any) -> None:
    config.set("notify.webhook.url", webhook.url)
    webhook.status = 503
    pid = add_parcel(store)
    after_sync(config, store, summary(change(store, pid, "in_transit", "delivered")),
               clock=clock(NOON))
    error = store.db.execute("SELECT last_error FROM deliveries").fetchone()[0]
    assert "HTTP 503" in error and "/hooks/parcels" not in error
    webhook.status = 200
    after_sync(config, store, summary(), clock=clock(NOON))
    assert len(webhook.received) == 2
    assert count(store, "SELECT count(*) FROM deliveries WHERE delivered_at IS NULL") == 0


def test_command_channel_timeout_kills_the_command(tmp_path: Path) -> None:
    channel = CommandChannel(f"sleep 30; touch {tmp_path / 'late'}", timeout=0.5)
    started = time.monotonic()
    with pytest.raises(ChannelError, match="did not finish"):
        channel.send(Message("t", "b", {"type": "status_change"}))
    assert time.monotonic() - started < 5
    time.sleep(0.2)
    assert not (tmp_path / "late").exists()


def test_command_gets_json_on_stdin_and_env(tmp_path: Path) -> None:
    out = tmp_path / "got"
    channel = CommandChannel(f'cat > {out}; echo "$PARCELCTL_NUMBER $PARCELCTL_STATUS" >> {out}')
    channel.send(Message("t", "b", {"number": "SF1", "new_status": "delivered", "x": "中文"}))
    first, second = out.read_text(encoding="utf-8").splitlines()
    assert json.loads(first) == {"number": "SF1", "new_status": "delivered", "x": "中文"}
    assert second == "SF1 delivered"


def test_desktop_channel_calls_notify_send(tmp_path: Path) -> None:
    out = tmp_path / "args"
    fake = tmp_path / "notify-send"
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {out}\n')
    fake.chmod(0o755)
    DesktopChannel(str(fake)).send(Message("待取件 · SF1", "取件码 1-2-3", {}))
    assert out.read_text().splitlines() == ["--app-name=parcelctl", "--", "待取件 · SF1",
                                            "取件码 1-2-3"]


def test_desktop_text_is_never_an_option_nor_markup(tmp_path: Path) -> None:
    """Issue 16 §8: event text ``--wait`` became an option of notify-send, and HTML in the
    text reached the notification body (which notification servers read as markup). The
    texts now come after ``--``, the body escaped, controls neutralised."""
    out = tmp_path / "args"
    fake = tmp_path / "notify-send"
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {out}\n')
    fake.chmod(0o755)
    DesktopChannel(str(fake)).send(Message(
        "--wait", '<a href="https://evil.example">点此</a> <b>x</b> & \x1b[31m\u202eok', {}))
    args = out.read_text(encoding="utf-8").splitlines()
    assert args[:3] == ["--app-name=parcelctl", "--", "--wait"]
    assert args[3] == ('&lt;a href="https://evil.example"&gt;点此&lt;/a&gt; &lt;b&gt;x&lt;/b&gt;'
                       " &amp; \ufffd[31mok")


def test_desktop_channel_missing_binary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ChannelError, match="notify-send not found"):
        DesktopChannel().send(Message("t", "b", {}))


def test_desktop_is_opt_in(config: Config) -> None:
    assert "desktop" not in Settings.from_config(config).channels
    config.set("notify.desktop.enabled", True)
    assert "desktop" in Settings.from_config(config).channels


def test_apprise_missing_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "apprise", None)  # import fails as if not installed
    with pytest.raises(ChannelError, match=r"pip install 'parcelctl\[apprise\]'"):
        AppriseChannel(["json://localhost"]).send(Message("t", "b", {}))


def test_apprise_urls_are_redacted_from_errors(config: Config, store: Store,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    class FakeApprise:
        def add(self, url: str) -> bool:
            return True

        def notify(self, title: str, body: str) -> bool:
            raise RuntimeError("could not reach tgram://123456:SECRETTOKEN/42")

    class Module:
        Apprise = FakeApprise

    monkeypatch.setitem(sys.modules, "apprise", Module)
    config.set("notify.apprise.urls", ["tgram://123456:SECRETTOKEN/42"])
    pid = add_parcel(store)
    after_sync(config, store, summary(change(store, pid, "in_transit", "delivered")),
               clock=clock(NOON))
    error = store.db.execute("SELECT last_error FROM deliveries").fetchone()[0]
    assert "unexpected RuntimeError" in error and "SECRETTOKEN" not in error


def test_notifier_record_returns_only_new_ids(config: Config, store: Store) -> None:
    pid = add_parcel(store)
    notifier = Notifier(Settings.from_config(config), store, clock=clock(NOON))
    delivered = change(store, pid, "in_transit", "delivered")
    assert notifier.record([delivered]) == [1]
    assert notifier.record([delivered]) == []


# -- bursts ---------------------------------------------------------------------------------

@pytest.fixture
def apprise_inbox(config: Config, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """A stand-in apprise module: what a person would have read, one entry per message."""
    inbox: list[tuple[str, str]] = []

    class FakeApprise:
        def add(self, url: str) -> bool:
            return True

        def notify(self, title: str, body: str) -> bool:
            inbox.append((title, body))
            return True

    class Module:
        Apprise = FakeApprise

    monkeypatch.setitem(sys.modules, "apprise", Module)
    config.set("notify.apprise.urls", ["json://localhost/inbox"])
    return inbox


def burst_of(store: Store, n: int) -> list[Change]:
    changes = []
    for i in range(n):
        pid = add_parcel(store, f"SF13219349{i:05d}")
        changes.append(change(store, pid, "in_transit", "delivered" if i % 3 else "exception"))
    return changes


def test_a_burst_reaches_people_as_one_summary_and_programs_one_by_one(
        config: Config, store: Store, tmp_path: Path, apprise_inbox: list[tuple[str, str]]
) -> None:
    out = command_log(config, tmp_path)
    after_sync(config, store, summary(*burst_of(store, 8)), clock=clock(NOON))
    assert len(lines(out)) == 8  # the command channel feeds a program: one call per change
    assert len(apprise_inbox) == 1
    title, body = apprise_inbox[0]
    assert title == "8 条包裹动态"
    assert body.splitlines()[0] == "已签收 5 · 异常 3"
    assert "… 另有 5 条" in body and body.endswith("parcelctl list --attention")
    # Every delivery the summary carried is done: the next run sends nothing again.
    assert count(store, "SELECT count(*) FROM deliveries WHERE delivered_at IS NULL") == 0
    after_sync(config, store, summary(), clock=clock(NOON + timedelta(minutes=5)))
    assert len(apprise_inbox) == 1 and len(lines(out)) == 8


def test_up_to_the_burst_size_each_change_is_its_own_message(
        config: Config, store: Store, apprise_inbox: list[tuple[str, str]]) -> None:
    after_sync(config, store, summary(*burst_of(store, 5)), clock=clock(NOON))
    assert len(apprise_inbox) == 5
    assert all("SF13219349" in title for title, _ in apprise_inbox)


def test_burst_zero_never_summarises(config: Config, store: Store,
                                     apprise_inbox: list[tuple[str, str]]) -> None:
    config.set("notify.burst", 0)
    after_sync(config, store, summary(*burst_of(store, 7)), clock=clock(NOON))
    assert len(apprise_inbox) == 7


def test_a_failed_summary_keeps_every_delivery_it_carried_pending(
        config: Config, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    class Down:
        def add(self, url: str) -> bool:
            return True

        def notify(self, title: str, body: str) -> bool:
            return False

    class Module:
        Apprise = Down

    monkeypatch.setitem(sys.modules, "apprise", Module)
    config.set("notify.apprise.urls", ["json://localhost/inbox"])
    after_sync(config, store, summary(*burst_of(store, 6)), clock=clock(NOON))
    rows = store.db.execute("SELECT delivered_at, attempts, last_error FROM deliveries").fetchall()
    assert len(rows) == 6
    assert all(r[0] is None and r[1] == 1 and "could not deliver" in r[2] for r in rows)


def test_the_summary_payload_names_every_notification_it_carries(config: Config,
                                                                 store: Store) -> None:
    sent: list[Message] = []

    class Screen:
        name = "desktop"

        def send(self, message: Message) -> None:
            sent.append(message)

    settings = Settings.from_config(config)
    settings.channels = {"desktop": Screen()}
    notifier = Notifier(settings, store, clock=clock(NOON))
    ids = notifier.record(burst_of(store, 6))
    assert len(ids) == 6
    report = notifier.deliver()
    assert report.delivered == 6 and len(sent) == 1
    assert sent[0].payload["type"] == "summary" and sent[0].payload["count"] == 6
    assert sent[0].payload["notification_ids"] == ids
    assert sent[0].payload["kinds"] == {"delivered": 4, "exception": 2}


def test_summary_names_conditions_and_statuses_in_the_configured_language(
        config: Config, store: Store) -> None:
    payloads = [{"type": "overdue", "new_status": "awaiting_shipment", "message": "a"},
                {"type": "overdue", "new_status": "awaiting_shipment", "message": "b"},
                {"type": "stale", "new_status": "in_transit", "message": "c"},
                {"type": "status_change", "new_status": "delivered", "message": "d"}]
    zh = Notifier(Settings.from_config(config), store).summary(payloads)
    assert zh.body.splitlines()[0] == "超时未发货 2 · 长时间无更新 1 · 已签收 1"
    config.set("display.language", "en")
    en = Notifier(Settings.from_config(config), store).summary(payloads)
    assert en.title == "4 parcel updates"
    assert en.body.splitlines()[0] == "overdue 2 · stuck 1 · delivered 1"


@pytest.mark.parametrize(("lang", "column"), [("zh", 0), ("en", 1)])
def test_digest_names_conditions_as_notifications_do(lang: str, column: int) -> None:
    from parcelctl.cli.digest import render_lines
    from parcelctl.views import CONDITION_LABELS

    change = {"kind": "stale", "number": "YT100", "status": "in_transit", "old_status": None,
              "pickup_code": None, "title": ""}
    attention = [{"reason": reason, "number": f"N{reason}", "pickup_code": None,
                  "waiting": None, "title": "", "detail": ""} for reason in ("overdue", "stuck")]
    lines = render_lines({"changes": [change], "attention": attention}, lang)
    stuck, overdue = CONDITION_LABELS["stale"][column], CONDITION_LABELS["overdue"][column]
    assert lines[1].split() == ["YT100", stuck]
    assert lines[3].split() == [overdue, "Noverdue"]
    assert lines[4].split() == [stuck, "Nstuck"]


# -- what sync prints -----------------------------------------------------------------------

def test_sync_lists_news_and_counts_a_first_imports_history_in_one_line(store: Store) -> None:
    """A shop's first import brings thousands of old deliveries: `sync --quiet` (cron) must
    not mail them one line each. News, and changes to parcels known before, are listed."""
    from parcelctl.cli.sync_report import attention_lines

    def parcel(number: str, scanned: timedelta) -> int:
        return add_parcel(store, number, status="delivered", last_event=NOON - scanned)

    changes = [Change(parcel(number, ago), number, "yuantong", "", "delivered", 0,
                      first_import=True)
               for number, ago in (("YT1", timedelta(days=9)), ("YT2", timedelta(days=9)),
                                   ("YT3", timedelta(hours=2)))]
    changes.append(Change(parcel("YT5", timedelta(days=9)), "YT5", "yuantong", "in_transit",
                          "delivered", 1))  # known before this run: listed
    # Imported, then tracked in the same run: judged by its newest scan as stored.
    for number, ago in (("YT6", timedelta(days=3)), ("YT7", timedelta(hours=1))):
        pid = parcel(number, ago)
        changes += [Change(pid, number, "yuantong", "", "info_received", 0, first_import=True),
                    Change(pid, number, "yuantong", "info_received", "delivered", 3)]
    lines = attention_lines(store, summary(*changes), backlog=timedelta(hours=24), now=NOON)
    assert lines == [
        "3 newly imported parcels changed more than 24 h ago: history, not listed "
        "(parcelctl list --all shows them)",
        "YT3: 已签收 (delivered)", "YT5: 已签收 (delivered)", "YT7: 已签收 (delivered)"]
    # notify.backlog_hours = 0: every change is news, as for notifications.
    assert len(attention_lines(store, summary(*changes), backlog=timedelta(0), now=NOON)) == 6


def test_a_shops_waybill_tracked_in_the_run_that_imported_it_is_history_when_old(
        config: Config, store: Store, tmp_path: Path) -> None:
    """The first tracking answer for a freshly imported waybill comes from another unit of
    the same run: a delivery three days old is not news, one an hour old is."""
    from parcelctl.notify import Recorder

    out = command_log(config, tmp_path)
    hook = Recorder(config, store, clock=clock(NOON))
    old_pid = add_parcel(store, "YT8800000000001", status="info_received",
                         last_event=NOON - timedelta(days=3))
    new_pid = add_parcel(store, "YT8800000000002", status="info_received",
                         last_event=NOON - timedelta(days=3))
    imported = [Change(pid, str(store.get(pid)["number"]), "yuantong", "", "info_received", 0,
                       changed_at=iso(NOON - timedelta(days=3)), first_import=True)
                for pid in (old_pid, new_pid)]
    with store.transaction():
        hook(imported)  # the account unit
    with store.transaction():  # the tracking unit: answers stored, then the hook
        store.db.execute("UPDATE parcels SET last_event_utc=? WHERE id=?",
                         (iso(NOON - timedelta(hours=1)), new_pid))
        hook([change(store, pid, "info_received", "delivered") for pid in (old_pid, new_pid)])
    after_sync(config, store, summary(), clock=clock(NOON), recorded=True,
               old_news=hook.notifier.old_news)
    assert [p["number"] for p in lines(out)] == ["YT8800000000002"]
    assert hook.notifier.old_news == 1


def test_the_digest_counts_a_first_imports_history_in_one_line(store: Store) -> None:
    """The day after a shop was linked, `digest` listed every change of every order: old
    ones are history by the rule of notifications and of sync's lines."""
    from parcelctl.cli.digest import changes_since, render_lines

    old = add_parcel(store, "YT3100000000001", status="delivered",
                     last_event=NOON - timedelta(days=9))
    fresh = add_parcel(store, "YT3100000000002", status="delivered",
                       last_event=NOON - timedelta(hours=2))
    known = add_parcel(store, "YT3100000000003", status="delivered",
                       last_event=NOON - timedelta(days=9))
    with store.transaction():
        store.db.execute("INSERT INTO sync_runs (started_at, summary) VALUES (?, ?)", (
            iso(NOON), json.dumps(summary(
                Change(old, "YT3100000000001", "yuantong", "", "info_received", 0,
                       first_import=True),
                Change(old, "YT3100000000001", "yuantong", "info_received", "delivered", 2),
                Change(fresh, "YT3100000000002", "yuantong", "", "delivered", 0, first_import=True),
                Change(known, "YT3100000000003", "yuantong", "in_transit", "delivered", 1),
            ).to_json())))
    found, history = changes_since(store.db, NOON - timedelta(days=1), timedelta(hours=24))
    assert history == 2  # both changes of the parcel imported with a nine-day-old scan
    assert [(c["number"], c["old_status"], c["status"]) for c in found] == [
        ("YT3100000000002", None, "delivered"), ("YT3100000000003", "in_transit", "delivered")]
    lines = render_lines({"changes": found, "history": history, "attention": []}, "en")
    assert lines[:2] == ["Changes (2)",
                         "  2 changes of newly imported parcels are history, not listed"]
    everything, none = changes_since(store.db, NOON - timedelta(days=1), None)
    assert (len(everything), none) == (4, 0)
