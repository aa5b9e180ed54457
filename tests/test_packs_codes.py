"""Property tests for pack tokens and short codes (app/packs/codes.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.packs import codes

SYMBOLS = codes.ALPHABET
body_strategy = st.text(alphabet=SYMBOLS, min_size=codes.CODE_BODY_LENGTH, max_size=codes.CODE_BODY_LENGTH)


def valid_code(body: str) -> str | None:
    check = codes.check_value(body)
    return body + SYMBOLS[check] if check < 32 else None


@st.composite
def issued_codes(draw) -> str:
    """Codes as `new_code` issues them: a body whose check symbol is 0-9/A-Z."""
    body = draw(body_strategy.filter(lambda b: codes.check_value(b) < 32))
    return valid_code(body)


def test_new_codes_parse_and_format():
    for _ in range(200):
        code = codes.new_code()
        assert len(code) == codes.CODE_LENGTH and set(code) <= set(SYMBOLS)
        assert codes.parse_code(code) == code
        formatted = codes.format_code(code)
        assert formatted[4] == formatted[9] == "-" and codes.parse_code(formatted) == code


def test_tokens_have_130_bits_of_crockford_symbols():
    tokens = {codes.new_token() for _ in range(2000)}
    assert len(tokens) == 2000
    assert all(len(t) == 26 and set(t) <= set(SYMBOLS) and t == t.upper() for t in tokens)
    assert len(SYMBOLS) ** codes.TOKEN_LENGTH >= 2**128


@settings(max_examples=300)
@given(code=issued_codes(), position=st.integers(0, codes.CODE_LENGTH - 1), replacement=st.sampled_from(SYMBOLS))
def test_check_symbol_catches_every_single_substitution(code, position, replacement):
    if code[position] == replacement:
        return
    typo = code[:position] + replacement + code[position + 1 :]
    with pytest.raises(codes.CheckSymbolMismatch):
        codes.parse_code(typo)


def test_check_symbol_catches_single_substitutions_exhaustively_for_sample_codes():
    for _ in range(50):
        code = codes.new_code()
        for position in range(codes.CODE_LENGTH):
            for replacement in SYMBOLS:
                if replacement != code[position]:
                    with pytest.raises(codes.CheckSymbolMismatch):
                        codes.parse_code(code[:position] + replacement + code[position + 1 :])


@settings(max_examples=300)
@given(code=issued_codes(), position=st.integers(0, codes.CODE_LENGTH - 2))
def test_check_symbol_catches_every_adjacent_swap(code, position):
    a, b = code[position], code[position + 1]
    if a == b:
        return
    swapped = code[:position] + b + a + code[position + 2 :]
    with pytest.raises(codes.CheckSymbolMismatch):
        codes.parse_code(swapped)


@st.composite
def typed_variants(draw):
    """A code and a way a person might type it: any case, hyphens/spaces anywhere, I/L/O for 1/1/0."""
    code = draw(issued_codes())
    out = []
    for ch in code:
        if ch == "1":
            ch = draw(st.sampled_from("1IiLl"))
        elif ch == "0":
            ch = draw(st.sampled_from("0Oo"))
        elif draw(st.booleans()):
            ch = ch.lower()
        out.append(ch)
        out.append(draw(st.sampled_from(["", "", "-", " ", " - "])))
    return code, draw(st.sampled_from(["", " ", "  "])) + "".join(out)


@settings(max_examples=300)
@given(typed_variants())
def test_lookups_accept_lower_case_hyphens_spaces_and_lookalikes(variant):
    code, typed = variant
    assert codes.parse_code(typed) == code


@given(st.text(max_size=30))
def test_parse_code_never_crashes(text):
    try:
        assert len(codes.parse_code(text)) == codes.CODE_LENGTH
    except codes.InvalidCode:
        pass
