"""A second set of texts, collected apart from pickup-texts.md: issue threads
(O-kai/Xiaomi-HyperOs-pickup-code-grabber#2/#3, shareven/parcel#29/#35, pppscn/SmsForwarder#469,
BryceWG/Pinme#3) and SMS apps' test corpora (O-kai/Xiaomi-HyperOs-pickup-code-grabber
test/sms-corpus-public.jsonl and test/sms-cases.txt, chenran0408/pickup-code-app
app/src/test/resources/corpus/, Astrian/termux-deilveryreader README.md). Each sample names
its source in tests/fixtures/pickup_texts_extra.json."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from parcelctl.status import CHINA_TZ
from parcelctl.texts.parse import parse
from tests.conftest import load_fixture

SAMPLES: list[dict[str, Any]] = load_fixture("pickup_texts_extra.json")["samples"]
RECEIVED = datetime(2026, 12, 7, 9, 15, tzinfo=CHINA_TZ)


def score(samples: list[dict[str, Any]]) -> tuple[int, int, int]:
    """(right codes, false codes, missed codes) over ``samples``."""
    right = false = missed = 0
    for sample in samples:
        found = parse(sample["text"], RECEIVED).codes
        right += sum(code in sample["codes"] for code in found)
        false += sum(code not in sample["codes"] for code in found)
        missed += sum(code not in found for code in sample["codes"])
    return right, false, missed


def test_the_set_is_new() -> None:
    sheet = {s["text"] for s in load_fixture("pickup_texts.json")["samples"]}
    assert len(SAMPLES) >= 50 and not sheet & {s["text"] for s in SAMPLES}
    assert all(s["source"] for s in SAMPLES)


def test_no_false_code() -> None:
    assert score(SAMPLES)[1] == 0


def test_every_code_of_a_received_text() -> None:
    """Texts people received: all found. Only made-up strings are allowed a miss (e.g.
    ``编号: PDD7788``, an anchor too loose to trust)."""
    assert score([s for s in SAMPLES if not s["constructed"]])[2] == 0
    assert score(SAMPLES)[2] <= 1


@pytest.mark.parametrize("sample", [s for s in SAMPLES if s["tail"]], ids=lambda s: str(s["id"]))
def test_tails(sample: dict[str, Any]) -> None:
    assert parse(sample["text"], RECEIVED).tail == sample["tail"]
