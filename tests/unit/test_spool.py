"""The pages of one import are held in bounded memory (issue 16 #4)."""

from __future__ import annotations

from parcelctl.models import Order, Status
from parcelctl.spool import PageSpool


def _page(n: int) -> list[Order]:
    return [Order(provider="kuaishou", account="a", order_id=f"{n}-{i}",
                  status=Status.AWAITING_SHIPMENT, title="标题" * 10) for i in range(3)]


def test_pages_past_the_memory_budget_go_to_disk_and_come_back_in_order() -> None:
    """An endless cursor grew memory by 14 MB/s; past ``keep`` pages the spool holds none
    of them in memory, and every page is still there to be written (again) in order."""
    spool = PageSpool(keep=4)
    for n in range(50):
        spool.append(_page(n))
    assert len(spool) == 50 and len(spool._memory) == 4
    assert [page[0].order_id for page in spool.read()] == [f"{n}-0" for n in range(50)]
    assert [page[2].order_id for page in spool.read(47)] == ["47-2", "48-2", "49-2"]
    assert next(iter(spool.read(10)))[1].title == "标题" * 10
    spool.close()
    assert len(spool) == 0 and list(spool.read()) == []
