"""Tests for unified social credit code validation (GB 32100-2015)."""

import pytest

from server.services.credit_code import (
    ALPHABET,
    InvalidCreditCode,
    check_character,
    normalize,
    validate,
)

# Published codes of real organisations (and the example code of Wikipedia's "Unified Social
# Credit Identifier" article); each was checked against this module before being kept.
REAL_CODES = [
    "91350100M000100Y43",  # Wikipedia's example
    "914403001922038216",  # 华为技术有限公司
    "9144030071526726XG",  # 腾讯科技（深圳）有限公司
    "91440300708461136T",  # 深圳市腾讯计算机系统有限公司
    "91330100716105852F",  # 阿里巴巴（中国）网络技术有限公司
    "91110000802100433B",  # 北京百度网讯科技有限公司
    "91520000214434146R",  # 中航重机股份有限公司
    "91310000132260250X",  # 上海汽车集团股份有限公司
    "12100000425006133D",  # 华东师范大学 (机构编制 registration, public institution)
]

# Issued in the Fujian/Xiamen pilot before the standard; their position 18 does not verify.
PILOT_CODES = {
    "91350211M0000XUF46": "R",  # 厦门云上晴空航空科技有限公司
    "91350100M0001TGQXM": "1",  # 福建恒跃柳工机械销售有限公司
    "91350203M0001FUE2P": "J",  # 厦门黑脉网络科技有限公司
}


def build(first17: str) -> str:
    return first17 + check_character(first17)


def reason_of(code: str) -> InvalidCreditCode:
    with pytest.raises(InvalidCreditCode) as caught:
        validate(code)
    return caught.value


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_validate(code):
    assert validate(code) == code


@pytest.mark.parametrize("code", REAL_CODES)
def test_check_character_reproduces_real_codes(code):
    assert check_character(code[:17]) == code[17]


@pytest.mark.parametrize(
    ("first17", "check"),
    [
        # Chosen so the weighted sum is 0 mod 31: the raw value 31 must map to "0".
        ("00000000000000000", "0"),
        # A sum of 1 mod 31 gives 30, the last alphabet character.
        ("10000000000000000", "Y"),
        ("91350100M000100Y4", "3"),
    ],
)
def test_check_character_edges(first17, check):
    assert check_character(first17) == check


def test_built_codes_validate_with_every_alphabet_character_in_free_positions():
    for char in ALPHABET:
        code = build(f"{char}{char}110105{char * 9}")
        assert validate(code) == code


def test_every_check_value_is_reachable():
    # Varying position 17 (weight 28, invertible mod 31) walks through all 31 check values.
    checks = {check_character("91110105MA000000" + char) for char in ALPHABET}
    assert checks == set(ALPHABET)


def test_normalize_strips_whitespace_and_uppercases():
    assert normalize(" 9135 0100 m000 100y 43\t") == "91350100M000100Y43"


def test_normalize_folds_full_width_input():
    assert normalize("９１３５０１００Ｍ０００１００Ｙ４３\u3000") == "91350100M000100Y43"


def test_validate_returns_normalized_code():
    assert validate("91350100m000100y43 ") == "91350100M000100Y43"
    assert validate("9135 0100 M000 100Y 43") == "91350100M000100Y43"


@pytest.mark.parametrize("code", ["", "91350100M000100Y4", "91350100M000100Y433"])
def test_wrong_length(code):
    error = reason_of(code)
    assert error.reason == "wrong_length"
    assert str(error) == f"wrong length: expected 18 characters, got {len(code)}"
    assert error.details == {"expected": 18, "actual": len(code)}


@pytest.mark.parametrize("letter", ["I", "O", "Z", "S", "V"])
def test_excluded_letters_are_not_allowed(letter):
    code = "91350100M000100Y43"
    error = reason_of(code[:9] + letter + code[10:])
    assert error.reason == "character_not_allowed"
    assert str(error) == f"character '{letter}' not allowed at position 10"
    assert error.details == {"position": 10, "character": letter}


@pytest.mark.parametrize(("position", "char"), [(1, "-"), (18, "*"), (4, "I")])
def test_character_not_allowed_reports_its_position(position, char):
    code = list("91350100M000100Y43")
    code[position - 1] = char
    error = reason_of("".join(code))
    assert error.reason == "character_not_allowed"
    assert error.details["position"] == position


def test_division_code_must_be_digits():
    code = build("9135A100M000100Y4")
    error = reason_of(code)
    assert error.reason == "division_not_digits"
    assert str(error) == "division code not digits: '35A100' at positions 3-8"


def test_check_character_mismatch():
    error = reason_of("91350100M000100Y44")
    assert error.reason == "check_mismatch"
    assert str(error) == "check character mismatch: expected 3, got 4"
    assert error.details == {"expected": "3", "actual": "4"}


def test_invalid_credit_code_is_a_value_error():
    with pytest.raises(ValueError):
        validate("nonsense")


def test_every_single_substitution_is_caught():
    code = "91350100M000100Y43"
    for index in range(17):
        for char in ALPHABET.replace(code[index], ""):
            if 2 <= index <= 7 and not char.isdigit():
                continue  # a letter in the division code fails earlier, for another reason
            assert reason_of(code[:index] + char + code[index + 1 :]).reason == "check_mismatch"


def test_every_adjacent_transposition_is_caught():
    code = "914403001922038216"
    for index in range(16):
        if code[index] == code[index + 1]:
            continue
        swapped = code[:index] + code[index + 1] + code[index] + code[index + 2 :]
        assert reason_of(swapped).reason == "check_mismatch"


def test_gb11714_check_at_position_17_is_not_enforced():
    # 914403001922038216 carries the GB 11714 check "1" at position 17; "2" breaks it.
    code = build("91440300192203822")
    assert validate(code) == code


@pytest.mark.parametrize(("code", "expected"), PILOT_CODES.items())
def test_pilot_codes_failing_position_18_are_rejected(code, expected):
    error = reason_of(code)
    assert error.reason == "check_mismatch"
    assert error.details["expected"] == expected


@pytest.mark.parametrize("first17", ["", "9135010", "91350100M000100Y43"])
def test_check_character_requires_17_characters(first17):
    with pytest.raises(InvalidCreditCode) as caught:
        check_character(first17)
    assert caught.value.reason == "wrong_length"


def test_check_character_rejects_characters_outside_the_alphabet():
    with pytest.raises(InvalidCreditCode) as caught:
        check_character("91350100M000100O4")
    assert caught.value.reason == "character_not_allowed"
    assert caught.value.details == {"position": 16, "character": "O"}
