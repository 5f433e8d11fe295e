"""Money as the API writes it. A module of its own, below the ledger, the status writer and
the events they write, so that each of them can import it without importing the others."""

from __future__ import annotations

from decimal import Decimal


def format_amount(amount: Decimal) -> str:
    """Money as text: at least two decimals, more only where the amount has them."""
    if amount == amount.quantize(Decimal("0.01")):
        return str(amount.quantize(Decimal("0.01")))
    return format(amount.normalize(), "f")
