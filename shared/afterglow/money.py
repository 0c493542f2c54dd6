"""Money in integer minor units. Every split of an amount sums exactly back to the amount."""

# ISO 4217 currencies whose minor unit is not a hundredth
_ZERO_DECIMALS = frozenset(
    ["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "XAF", "XOF", "XPF"]
)
_THREE_DECIMALS = frozenset(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"])
# Languages that write 1.234,50 rather than 1,234.50 (the rest of the world's default here)
_DECIMAL_COMMA_LANGUAGES = frozenset(
    ["cs", "da", "de", "es", "fi", "fr", "id", "it", "nb", "nl", "no", "pl", "pt", "ru", "sv", "tr"]
)


def minor_places(currency: str) -> int:
    """How many decimal places a currency's minor unit has (2 unless ISO 4217 says 0 or 3)."""
    return 0 if currency in _ZERO_DECIMALS else 3 if currency in _THREE_DECIMALS else 2


def format_amount(minor: int, currency: str, locale: str | None = None) -> str:
    """An amount for a customer to read, with its currency code, in the locale's separators:
    `1,234.50 EUR` (en, or no locale) or `1.234,50 EUR` (de-DE, fr, …)."""
    places = minor_places(currency)
    text = f"{minor / 10**places:,.{places}f}"
    language = (locale or "").replace("_", "-").split("-")[0].lower()
    if language in _DECIMAL_COMMA_LANGUAGES:
        text = text.translate(str.maketrans(",.", ".,"))
    return f"{text} {currency}"


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
