"""Token packages (spec §8.3). Prices live only here: the client sends a package id, never an amount."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

# Digits after the decimal point of each currency's major unit (ISO 4217).
MINOR_UNIT_DIGITS = {"KRW": 0, "USD": 2}


@dataclass(frozen=True)
class TokenPackage:
    id: str
    tokens: int
    prices: dict[str, int]  # currency -> price in minor units

    def price(self, currency: str) -> int:
        return self.prices[currency]


PACKAGES: dict[str, TokenPackage] = {
    package.id: package
    for package in (
        TokenPackage("basic_100", 100, {"KRW": 10_000, "USD": 799}),
        TokenPackage("standard_500", 500, {"KRW": 45_000, "USD": 3_499}),
        TokenPackage("premium_1000", 1000, {"KRW": 80_000, "USD": 5_999}),
    )
}


def to_major(amount_minor: int, currency: str) -> Decimal:
    """Minor units as the decimal amount Toss and the browser speak (10000 KRW, 7.99 USD)."""
    return Decimal(amount_minor).scaleb(-MINOR_UNIT_DIGITS[currency])


def to_minor(amount: Decimal | int | float | str, currency: str) -> int | None:
    """A decimal amount in minor units; None when it is not a whole number of minor units."""
    try:
        scaled = Decimal(str(amount)).scaleb(MINOR_UNIT_DIGITS[currency])
    except (ArithmeticError, ValueError):
        return None
    if not scaled.is_finite() or scaled != scaled.to_integral_value():
        return None
    return int(scaled)
