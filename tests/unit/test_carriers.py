"""Local carrier hints (tracking-numbers.md §1/§2), number validation and carrier names."""

from __future__ import annotations

import subprocess
import sys

import pytest

from parcelctl import carriers
from parcelctl.errors import UsageError

# tracking-numbers.md §1: every observed number and the hint it must get (None = no hint).
OBSERVED: list[tuple[str, str | None]] = [
    ("YT9693083639795", "yuantong"),
    ("YT6186594166532", "yuantong"),
    ("YT6247854916511", "yuantong"),
    ("YT6074326614455", "yuantong"),
    ("200093247451", None),  # older 12-digit YTO: no rule claims 12 digits
    ("773027491214552", "shentong"),
    ("227213764418", None),
    ("221014000145", None),
    ("3950055201640", "yunda"),
    ("3101738504868", "yunda"),
    ("433391373012303", "yunda"),
    ("462598779470531", "yunda"),
    ("SF1321934960512", "shunfeng"),
    ("589707398027", None),
    ("118461988807", None),
    ("786187979245", None),
    ("JT0006968326954", "jtexpress"),
    ("JT3002232682242", "jtexpress"),
    ("JDVA11408814483", "jd"),
    ("DPK364112047425", "debangwuliu"),
    ("DPK300585915441", "debangwuliu"),
    ("1136281381675", "ems"),
    ("EM263999513JP", "ems"),
    ("1240921381750", "ems"),  # ambiguous row: youzhengguonei is the second candidate
    ("50905742808412", "huitongkuaidi"),
    ("300527476792", None),  # Anneng: no rule
    ("106027097895", None),
    ("LP00123456789", "cainiao"),
]


@pytest.mark.parametrize(("number", "expected"), OBSERVED)
def test_observed_numbers_hit_expected_hint(number: str, expected: str | None) -> None:
    found = carriers.hint(number)
    assert (found.code if found else None) == expected


def test_ambiguous_postal_row_offers_both_codes() -> None:
    assert [c.code for c in carriers.hints("1240921381750")] == ["ems", "youzhengguonei"]
    assert {c.confidence for c in carriers.hints("1240921381750")} == {"low"}


@pytest.mark.parametrize(("number", "code", "confidence"), [
    ("SF1234567890123", "shunfeng", "high"),
    ("JDX123456789012", "jd", "high"),
    ("JDVA11408814483", "jd", "high"),
    ("JT0006968326954", "jtexpress", "high"),
    ("DPK364112047425", "debangwuliu", "high"),
    ("YT9693083639795", "yuantong", "medium"),
    ("RB123456785CN", "youzhengguoji", "medium"),
    ("EA123456785CN", "ems", "medium"),
    ("EM263999513JP", "ems", "low"),
    ("LP00123456789012", "cainiao", "low"),
    ("LP00123456789012NL", "cainiao", "low"),
    ("773027491214552", "shentong", "medium"),
    ("433391373012303", "yunda", "low"),
    ("75312345678901", "zhongtong", "low"),
    ("50905742808412", "huitongkuaidi", "low"),
    ("1136281381675", "ems", "low"),
])
def test_every_rule_row(number: str, code: str, confidence: str) -> None:
    found = carriers.hint(number)
    assert found is not None
    assert (found.code, found.confidence) == (code, confidence)
    assert found.name == carriers.carrier_label(code)


@pytest.mark.parametrize("number", [
    "SF123456789012",  # SF + 12 digits: outside the rule
    "YT1234567890123456",  # YunExpress shape
    "7731234567890",
    "ABCDEFG",
    "12345",
])
def test_no_hint_for_other_shapes(number: str) -> None:
    assert carriers.hint(number) is None
    assert carriers.hints(number) == []


def test_order_first_match_wins() -> None:
    # 77 + 13 digits is STO (row 8) even though ZTO's row 10 is about 7-numbers.
    assert carriers.hint("773027491214552").code == "shentong"  # type: ignore[union-attr]
    assert carriers.hint("77302749121455").code == "zhongtong"  # type: ignore[union-attr]


def test_hint_normalizes_spaces_dashes_and_case() -> None:
    found = carriers.hint(" sf 1321-9349 60512 ")
    assert found is not None and found.code == "shunfeng"


@pytest.mark.parametrize(("raw", "expected"), [
    ("yt9693083639795", "YT9693083639795"),
    ("SF 1321 9349 60512", "SF1321934960512"),
    ("773-027-491-214-552", "773027491214552"),
    ("ABCDE", "ABCDE"),
    ("A" * 40, "A" * 40),
])
def test_validate_number_accepts_and_normalizes(raw: str, expected: str) -> None:
    assert carriers.validate_number(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "ABCD", "A" * 41, "YT969308363979#", "顺丰1234567",
                                 "YT.9693083639795", "YT_9693083639795"])
def test_validate_number_rejects_with_one_line(raw: str) -> None:
    with pytest.raises(UsageError) as info:
        carriers.validate_number(raw)
    message = str(info.value)
    assert "\n" not in message
    assert "5–40 letters and digits" in message


@pytest.mark.parametrize(("number", "code"), [
    ("RB123456785CN", "youzhengguoji"), ("LK123456785CN", "youzhengguoji"),
    ("UA123456785CN", "youzhengguoji"), ("CP123456785CN", "youzhengguoji"),
    ("EA123456785CN", "ems"), ("EE123456785CN", "ems"),
])
def test_s10_only_e_items_are_ems(number: str, code: str) -> None:
    """Errata N1 (UPU S10 standard): only E-prefixed items are EMS; R, L, U and C prefixes
    from China are China Post international mail (Kuaidi100 ``youzhengguoji``)."""
    found = carriers.hint(number)
    assert found is not None and found.code == code


def test_deppon_express_code_exists_beside_deppon() -> None:
    """Errata Q4 (3SDK code tables): ``debangkuaidi`` (德邦快递) beside ``debangwuliu``."""
    assert carriers.carrier_label("debangkuaidi") == "德邦快递 (Deppon Express)"
    assert carriers.carrier_label("debangwuliu") != carriers.carrier_label("debangkuaidi")


def test_validate_number_truncates_huge_input() -> None:
    with pytest.raises(UsageError) as info:
        carriers.validate_number("x" * 5000 + "!")
    assert len(str(info.value)) < 200


SHEET_CODES = {"shunfeng", "zhongtong", "yuantong", "shentong", "yunda", "huitongkuaidi", "ems",
               "jd", "zhaijisong", "jtexpress", "debangwuliu", "youzhengguonei",
               "shunfengkuaiyun"}


def test_carrier_names_cover_sheet_codes_and_hints() -> None:
    assert SHEET_CODES | {"cainiao"} <= set(carriers.CARRIER_NAMES)
    for pattern, codes, _ in carriers._RULES:
        assert set(codes) <= set(carriers.CARRIER_NAMES), pattern.pattern
    for zh, en in carriers.CARRIER_NAMES.values():
        assert zh and en


def test_carrier_label() -> None:
    assert carriers.carrier_label("yuantong") == "圆通速递 (YTO Express)"
    assert carriers.carrier_label("YUANTONG") == "圆通速递 (YTO Express)"
    assert carriers.carrier_label("ems") == "EMS"
    assert carriers.carrier_label("nosuchcarrier") == "nosuchcarrier"
    assert carriers.carrier_label("") == ""


def test_module_stays_light() -> None:
    code = ("import sys, parcelctl.carriers; "
            "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('httpx', 'rich', 'typer', 'keyring', 'platformdirs') or m.startswith("
            "'parcelctl.providers') or m.startswith('parcelctl.sandbox'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == ""
