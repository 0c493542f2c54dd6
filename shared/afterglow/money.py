"""Money in integer minor units. Every split of an amount sums exactly back to the amount."""


def percent_of(amount_minor: int, bps: int) -> int:
    """`bps` basis points of an amount, rounded half up to the minor unit."""
    if amount_minor < 0 or not 0 <= bps <= 10_000:
        raise ValueError("amount must be >= 0 and bps within 0..10000")
    return (amount_minor * bps + 5_000) // 10_000


def prorate(total_minor: int, part: int, whole: int) -> int:
    """`total_minor` × part / whole, rounded half up (0 <= part <= whole, whole > 0).

    Prorate cumulative parts (everything so far, minus what was already taken) and the pieces
    always sum back to the total: rounding each piece on its own can lose a minor unit per piece.
    """
    if whole <= 0 or not 0 <= part <= whole or total_minor < 0:
        raise ValueError("need 0 <= part <= whole, whole > 0 and total >= 0")
    return (total_minor * part * 2 + whole) // (2 * whole)


def split_revenue(amount_minor: int, retailer_bps: int) -> tuple[int, int]:
    """Split partner revenue into (retailer share, platform share); the two always sum to the amount.

    The retailer's share is rounded half up and the platform takes the remainder, so no minor unit
    is created or lost.
    """
    retailer = percent_of(amount_minor, retailer_bps)
    return retailer, amount_minor - retailer
