"""Unified social credit code (统一社会信用代码) normalization and validation.

Implements the code structure and check character of GB 32100-2015 《法人和其他组织统一社会信用代码
编码规则》: 18 characters drawn from a 31-character alphabet (digits and upper-case Latin letters
without I, O, Z, S, V)::

    position 1      registration-authority code (登记管理部门码)
    position 2      organisation-type code (机构类别码)
    positions 3-8   administrative division code (登记管理机关行政区划码), digits (GB/T 2260)
    positions 9-17  organisation code (主体标识码), per GB 11714 with its own check at 17
    position 18     check character over positions 1-17 (校验码)

Contractors, employers and outsourced construction units are identified by this code, so a typo
caught here is one fewer duplicate organisation later.
"""

from __future__ import annotations

import unicodedata

__all__ = [
    "ALPHABET",
    "LENGTH",
    "WEIGHTS",
    "InvalidCreditCode",
    "check_character",
    "normalize",
    "validate",
]

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""The 31 code characters of GB 32100-2015, in value order (index = value 0-30)."""

LENGTH = 18
"""Total length of a code, GB 32100-2015."""

WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
"""Weights of positions 1-17 for the check character, GB 32100-2015 (3**(i-1) mod 31)."""

_MODULUS = len(ALPHABET)
_VALUES = {char: value for value, char in enumerate(ALPHABET)}
_DIVISION = slice(2, 8)


class InvalidCreditCode(ValueError):
    """A string that is not a well-formed unified social credit code.

    ``reason`` is machine-readable (``wrong_length``, ``character_not_allowed``,
    ``division_not_digits``, ``check_mismatch``); ``details`` carries the specifics
    (``position`` is 1-based, as in the standard).
    """

    def __init__(self, reason: str, message: str, **details: object) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.details = details


def normalize(code: str) -> str:
    """Return ``code`` without whitespace, with full-width forms folded, upper-cased."""
    # Chinese input methods readily produce full-width digits and letters (９１３５…) and
    # ideographic spaces; NFKC folds them to ASCII so they are judged as what the user meant.
    folded = unicodedata.normalize("NFKC", code)
    return "".join(folded.split()).upper()


def check_character(first17: str) -> str:
    """Return the GB 32100-2015 check character (position 18) for 17 normalized characters."""
    if len(first17) != LENGTH - 1:
        raise InvalidCreditCode(
            "wrong_length",
            f"wrong length: expected {LENGTH - 1} characters, got {len(first17)}",
            expected=LENGTH - 1,
            actual=len(first17),
        )
    _check_alphabet(first17)
    total = sum(_VALUES[char] * weight for char, weight in zip(first17, WEIGHTS, strict=True))
    # 31 - (S mod 31) lies in 1..31; the standard maps 31 to 0.
    return ALPHABET[(_MODULUS - total % _MODULUS) % _MODULUS]


def validate(code: str) -> str:
    """Return the normalized code, or raise ``InvalidCreditCode`` saying what is wrong."""
    normalized = normalize(code)
    if len(normalized) != LENGTH:
        raise InvalidCreditCode(
            "wrong_length",
            f"wrong length: expected {LENGTH} characters, got {len(normalized)}",
            expected=LENGTH,
            actual=len(normalized),
        )
    _check_alphabet(normalized)
    division = normalized[_DIVISION]
    if not division.isdigit():
        raise InvalidCreditCode(
            "division_not_digits",
            f"division code not digits: {division!r} at positions 3-8",
            division=division,
        )
    # Positions 1 and 2 are not checked against code tables: the registration authorities
    # assign them and their tables change, while any typo there already fails position 18.
    #
    # Position 17 is the GB 11714 organisation-code check over positions 9-16. It is deliberately
    # not enforced. Codes re-issued from legacy organisation codes and registrations keep the
    # segment the old registers held, and a valid licence must not be turned away on a rule
    # GB 32100 does not make authoritative for the whole code. Nothing is lost either: the
    # position-18 weights are distinct and non-zero modulo the prime 31, so every single-character
    # error and every adjacent transposition anywhere in positions 1-17 already fails it.
    #
    # Known gap: some codes issued in the Fujian/Xiamen pilot before GB 32100 was published fail
    # even the position-18 check (e.g. 91350211M0000XUF46) yet appear on real licences. They are
    # rejected here; accepting them needs an explicit, reviewed exception list, not a looser rule.
    expected = check_character(normalized[:-1])
    if normalized[-1] != expected:
        raise InvalidCreditCode(
            "check_mismatch",
            f"check character mismatch: expected {expected}, got {normalized[-1]}",
            expected=expected,
            actual=normalized[-1],
        )
    return normalized


def _check_alphabet(text: str) -> None:
    for position, char in enumerate(text, start=1):
        if char not in _VALUES:
            raise InvalidCreditCode(
                "character_not_allowed",
                f"character {char!r} not allowed at position {position}",
                position=position,
                character=char,
            )
