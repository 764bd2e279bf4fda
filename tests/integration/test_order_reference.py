"""The order reference every view prints (``KS-2415…``) is accepted back by the commands
that take a parcel: tracking numbers lose their dashes when normalized, references keep it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from parcelctl.config import get_paths
from parcelctl.models import Order, Status
from parcelctl.store import Store

from .clihelp import as_json, cli


@pytest.fixture
def unshipped(parcelctl_home: Path) -> str:
    with Store(get_paths().db_file) as store, store.transaction():
        store.import_orders([Order("kuaishou", "shop", "2415000000000007",
                                   Status.AWAITING_SHIPMENT,
                                   updated_at=datetime(2026, 11, 20, tzinfo=UTC))], "")
    listed = as_json(cli("list", "--json"))
    (parcel,) = listed
    return str(parcel["order"]["reference"])


@pytest.mark.parametrize("spelling", [str.strip, str.lower, lambda ref: f"  {ref} "])
def test_show_takes_the_reference_list_prints(unshipped: str, spelling: object) -> None:
    assert unshipped == "KS-2415000000000007"
    shown = as_json(cli("show", spelling(unshipped), "--json"))  # type: ignore[operator]
    assert shown["order"]["reference"] == unshipped


def test_archive_takes_it_too(unshipped: str) -> None:
    assert cli("archive", unshipped).returncode == 0
    assert as_json(cli("list", "--json")) == []
