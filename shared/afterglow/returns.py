"""Returns of own-brand add-ons: what an accepted add-on still allows back, the refusals, and the
return-rate maths of the read-out. Pure.

An add-on accepted on the confirmation page added `price × quantity` to the order
(`own_brand_revenue_minor` of its `accept` event). The retailer's order system reports each return
or refund of it; together they never take back more money, or more units, than the accept added.
A return rate is by **amount**: money returned ÷ money added (`returns_per_accept`, the count of
returns ÷ accepts, is shown beside it); an offer is flagged when the returned money exceeds the
retailer's `return_flag_rate` share of the added money.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from afterglow.errors import InvalidInput, NotFound


class AcceptNotFound(NotFound):
    """No accept of this offer in this decision for this retailer (another retailer's looks the same)."""

    code = "accept_not_found"


class NotFirstPartyOffer(InvalidInput):
    """A partner offer: its refunds come from the partner, as reversals."""

    code = "not_a_first_party_offer"


class ReturnExceedsAccepted(InvalidInput):
    """More money back than the add-on added, less what was returned already."""

    code = "return_exceeds_accepted_amount"


class ReturnExceedsQuantity(InvalidInput):
    """More units back than were accepted, less those returned already."""

    code = "return_exceeds_accepted_quantity"


@dataclass(frozen=True)
class AcceptedAddOn:
    """An accepted add-on as the ledger holds it now: what it added, and what came back so far."""

    retailer_id: str
    decision_id: str
    offer_id: str
    partner_id: str  # an own-brand offer's partner is the retailer itself
    arm: str
    currency: str
    quantity: int
    added_minor: int
    returned_minor: int = 0
    returned_units: int = 0
    context: Mapping[str, str] | None = None  # the decision's learning context, as the accept has it

    @property
    def returnable_minor(self) -> int:
        """Money that may still be returned."""
        return max(0, self.added_minor - self.returned_minor)

    @property
    def returnable_units(self) -> int:
        """Units that may still come back."""
        return max(0, self.quantity - self.returned_units)


def check_return(accepted: AcceptedAddOn, amount_minor: int, quantity: int | None) -> None:
    """Refuse a return that would take back more than the add-on added (money or units)."""
    if amount_minor > accepted.returnable_minor:
        raise ReturnExceedsAccepted(
            f"amount_minor {amount_minor} exceeds what may still be returned of this add-on: "
            f"{accepted.returnable_minor} {accepted.currency} (added {accepted.added_minor}, "
            f"returned {accepted.returned_minor})",
            field="amount_minor",
        )
    if quantity is not None and quantity > accepted.returnable_units:
        raise ReturnExceedsQuantity(
            f"quantity {quantity} exceeds the units that may still come back: {accepted.returnable_units} "
            f"(accepted {accepted.quantity}, returned {accepted.returned_units})",
            field="quantity",
        )


def return_rate(returned_minor: int, added_minor: int) -> float | None:
    """Money returned ÷ money added; None when nothing was added."""
    return round(returned_minor / added_minor, 6) if added_minor else None


def exceeds_flag_rate(returned_minor: int, added_minor: int, flag_rate: float) -> bool:
    """Whether returns exceed `flag_rate` of what was added (exactly, in integers and fractions:
    20% of 1,000 is 200, and 200 returned is not over it). Returns with nothing added exceed it."""
    return returned_minor > 0 and Fraction(returned_minor) > Fraction(str(flag_rate)) * added_minor
