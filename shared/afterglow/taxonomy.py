"""The fixed offer/purchase category taxonomy and the relations between categories.

Relations drive the relevance prior: an offer in a category that *complements*, *refills* or
*extends* what was just bought is more likely to interest the customer than an unrelated one.
"""

from typing import Final, Literal

CATEGORIES: Final[tuple[str, ...]] = (
    "apparel",
    "footwear",
    "running",
    "fitness",
    "outdoor",
    "camping",
    "cycling",
    "electronics",
    "audio",
    "mobile",
    "computing",
    "gaming",
    "home",
    "kitchen",
    "coffee",
    "grocery",
    "beauty",
    "personal_care",
    "health",
    "baby",
    "pets",
    "toys",
    "books",
    "streaming",
    "travel",
    "insurance",
    "finance",
    "gifts",
    "flowers",
    "meal_kits",
    "charity",
)

Relation = Literal["same", "complements", "refills", "extends"]

# purchased category -> {offer category: relation}
RELATIONS: Final[dict[str, dict[str, Relation]]] = {
    "apparel": {"footwear": "complements", "beauty": "complements"},
    "footwear": {"apparel": "complements", "running": "complements", "personal_care": "refills"},
    "running": {"fitness": "complements", "health": "complements", "apparel": "complements"},
    "fitness": {"running": "complements", "health": "refills", "meal_kits": "extends"},
    "outdoor": {"camping": "complements", "travel": "extends", "insurance": "extends"},
    "camping": {
        "outdoor": "complements",
        "travel": "extends",
        "meal_kits": "refills",
        "insurance": "extends",
    },
    "cycling": {"outdoor": "complements", "insurance": "extends", "fitness": "complements"},
    "electronics": {"insurance": "extends", "audio": "complements", "streaming": "extends"},
    "audio": {"streaming": "extends", "electronics": "complements"},
    "mobile": {"insurance": "extends", "audio": "complements", "streaming": "extends"},
    "computing": {"insurance": "extends", "gaming": "complements", "electronics": "complements"},
    "gaming": {"streaming": "extends", "computing": "complements"},
    "home": {"insurance": "extends", "kitchen": "complements", "flowers": "complements"},
    "kitchen": {"coffee": "complements", "grocery": "refills", "meal_kits": "extends"},
    "coffee": {"kitchen": "complements", "grocery": "refills"},
    "grocery": {"meal_kits": "complements", "kitchen": "complements"},
    "beauty": {"personal_care": "complements", "gifts": "complements"},
    "personal_care": {"beauty": "complements", "health": "complements"},
    "health": {"fitness": "complements", "insurance": "extends"},
    "baby": {"toys": "complements", "insurance": "extends", "personal_care": "refills"},
    "pets": {"insurance": "extends", "grocery": "refills"},
    "toys": {"baby": "complements", "books": "complements", "gifts": "complements"},
    "books": {"streaming": "complements", "gifts": "complements"},
    "streaming": {"audio": "complements", "books": "complements"},
    "travel": {"insurance": "extends", "outdoor": "complements"},
    "insurance": {},
    "finance": {"insurance": "complements"},
    "gifts": {"flowers": "complements", "charity": "complements"},
    "flowers": {"gifts": "complements"},
    "meal_kits": {"kitchen": "complements", "grocery": "complements"},
    "charity": {},
}

# How much each relation lifts the relevance prior of an offer (1.0 = the very category bought).
RELATION_RELEVANCE: Final[dict[Relation, float]] = {
    "same": 1.0,
    "complements": 0.8,
    "refills": 0.7,
    "extends": 0.6,
}


def relevance(purchased_category: str, offer_category: str) -> float:
    """Prior relevance of an offer category to a purchased category, 0.0 when unrelated."""
    if purchased_category == offer_category:
        return RELATION_RELEVANCE["same"]
    relation = RELATIONS.get(purchased_category, {}).get(offer_category)
    return RELATION_RELEVANCE[relation] if relation else 0.0
