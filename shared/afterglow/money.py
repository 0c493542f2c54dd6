"""Money in integer minor units. Every split of an amount sums exactly back to the amount."""


def percent_of(amount_minor: int, bps: int) -> int:
    """`bps` basis points of an amount, rounded half up to the minor unit."""
    if amount_minor < 0 or not 0 <= bps <= 10_000:
        raise ValueError("amount must be >= 0 and bps within 0..10000")
    return (amount_minor * bps + 5_000) // 10_000


def split_revenue(amount_minor: int, retailer_bps: int) -> tuple[int, int]:
    """Split partner revenue into (retailer share, platform share); the two always sum to the amount.

    The retailer's share is rounded half up and the platform takes the remainder, so no minor unit
    is created or lost.
    """
    retailer = percent_of(amount_minor, retailer_bps)
    return retailer, amount_minor - retailer
