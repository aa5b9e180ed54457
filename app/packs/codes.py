"""Pack tokens and short printed codes, in Crockford base32.

- The token (26 symbols, 130 bits from `secrets`) is the secret in the pack URL. Upper case keeps the
  QR code in alphanumeric mode. It is never derived from SECRET_KEY: printed packs outlive key rotation.
- The short code (8 symbols + 1 check symbol, shown as `7K3Q-9XJ2-M`) is typed by people when a camera
  fails. The check symbol is Crockford's mod-37 check; codes whose check value would need one of the
  five extra symbols (*~$=U) are never issued, so every printed symbol is 0-9 or A-Z. Because 37 is a
  prime that divides neither 32 nor 31, every single-symbol error and every adjacent swap changes the
  value mod 37 and is caught.
"""

from __future__ import annotations

import base64
import re
import secrets

from flask_babel import gettext

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
# Crockford decoding: I and L read as 1, O as 0; case-insensitive.
_ALIASES = str.maketrans({"I": "1", "L": "1", "O": "0"})
_NOT_SYMBOL = re.compile(r"[^0-9A-Z]")

TOKEN_LENGTH = 26  # 26 * 5 = 130 bits
CODE_BODY_LENGTH = 8
CODE_LENGTH = CODE_BODY_LENGTH + 1


class InvalidCode(ValueError):
    """The text is not a well-formed short code."""


class CheckSymbolMismatch(InvalidCode):
    """Well-formed, but the check symbol does not match: a typo."""


def _symbols(value: int, length: int) -> str:
    """`value` as exactly `length` base-32 symbols, most significant first."""
    out = []
    for _ in range(length):
        value, digit = divmod(value, 32)
        out.append(ALPHABET[digit])
    return "".join(reversed(out))


def new_token() -> str:
    """A fresh pack token: 130 random bits as 26 upper-case Crockford symbols."""
    return _symbols(secrets.randbits(5 * TOKEN_LENGTH), TOKEN_LENGTH)


def check_value(body: str) -> int:
    """Crockford's check: the base-32 number the body spells, mod 37."""
    value = 0
    for ch in body:
        value = (value * 32 + _VALUE[ch]) % 37
    return value


def new_code() -> str:
    """A fresh short code (9 symbols, no separators); its check symbol is always 0-9 or A-Z."""
    while True:
        body = _symbols(secrets.randbits(5 * CODE_BODY_LENGTH), CODE_BODY_LENGTH)
        check = check_value(body)
        if check < 32:
            return body + ALPHABET[check]


# Bulk generation: each random byte's low 5 bits pick a symbol (256 is a multiple of 32: uniform), and
# RFC 4648 base32 lays 5 bytes out as 8 symbols most significant first, as `_symbols` does.
_BYTE_TO_SYMBOL = bytes(ord(ALPHABET[b % 32]) for b in range(256))
_RFC4648_TO_CROCKFORD = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", ALPHABET.encode())


def new_tokens(count: int) -> list[str]:
    """`count` fresh tokens, as `new_token` makes them (26 symbols, 130 bits from `secrets`), at C speed."""
    text = secrets.token_bytes(TOKEN_LENGTH * count).translate(_BYTE_TO_SYMBOL).decode("ascii")
    return [text[i:i + TOKEN_LENGTH] for i in range(0, len(text), TOKEN_LENGTH)]


def new_codes(count: int, taken: set[str] | None = None) -> list[str]:
    """`count` fresh short codes, distinct from each other and from `taken` (which grows with them).

    The same codes as `new_code`: 40 random bits from `secrets`, the mod-37 check, and no code whose
    check would need a symbol outside 0-9 A-Z. About 1 µs a code instead of 5.
    """
    taken = set() if taken is None else taken
    out: list[str] = []
    while len(out) < count:
        want = (count - len(out)) * 9 // 8 + 8
        raw = secrets.token_bytes(5 * want)
        bodies = base64.b32encode(raw).translate(_RFC4648_TO_CROCKFORD).decode("ascii")
        for i in range(want):
            check = int.from_bytes(raw[5 * i:5 * i + 5], "big") % 37
            if check < 32:
                code = bodies[8 * i:8 * i + 8] + ALPHABET[check]
                if code not in taken:
                    taken.add(code)
                    out.append(code)
                    if len(out) == count:
                        break
    return out


def normalise(text: str) -> str:
    """Upper-case, map I/L to 1 and O to 0, and drop spaces, hyphens and anything else."""
    return _NOT_SYMBOL.sub("", text.upper().translate(_ALIASES))


def parse_code(text: str) -> str:
    """The canonical code typed as `text`, or InvalidCode / CheckSymbolMismatch."""
    code = normalise(text)
    if len(code) != CODE_LENGTH:
        raise InvalidCode(gettext("A pack code has %(expected)s letters and digits; this has %(length)s.", expected=CODE_LENGTH, length=len(code)))
    if any(ch not in _VALUE for ch in code):  # U is no Crockford symbol (and never issued)
        raise InvalidCode(gettext("A pack code uses only the digits and the letters printed on the label."))
    body, check = code[:-1], code[-1]
    if check_value(body) != _VALUE[check]:
        raise CheckSymbolMismatch(gettext("That code has a typo: please check each letter and digit."))
    return code


def format_code(code: str) -> str:
    """`7K3Q9XJ2M` -> `7K3Q-9XJ2-M`, for printing and reading aloud."""
    return f"{code[:4]}-{code[4:8]}-{code[8:]}"
