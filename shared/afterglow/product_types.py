"""What an order says it bought: line-item titles, SKUs and brands mapped to product types. Pure.

A product type is finer than a taxonomy category (a bicycle, not "cycling"; coffee beans, not
"coffee") and belongs to exactly one category. The vocabulary is small and fixed on purpose: the
types become learning features and rule inputs, so every value must come from this list, whatever
a shop writes in its titles. Anything the vocabulary does not recognise is no product type (None).

Matching is on whole words after Unicode normalisation (accents dropped, case folded, any
punctuation a space, a trailing plural `s` ignored), so "Trailhead 2-Person TENTS", "tent" and
"Tënt" all read as `tent`. The longest phrase wins ("espresso machine" over "espresso"), then a
type of the line item's own category; a title says more than a SKU, a SKU more than a brand.
"""

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import Final

from afterglow.taxonomy import CATEGORIES

# product type -> (its category, the words that name it). Phrases are matched as whole words.
# fmt: off
PRODUCT_TYPES: Final[dict[str, tuple[str, tuple[str, ...]]]] = {
    # apparel and footwear
    "jacket": ("apparel", ("jacket", "parka", "anorak", "rain shell", "softshell")),
    "tshirt": ("apparel", ("t shirt", "tshirt", "tee")),
    "jeans": ("apparel", ("jeans", "denim")),
    "dress": ("apparel", ("dress", "kleid")),
    "socks": ("apparel", ("sock", "socks")),
    "shoes": ("footwear", ("shoe", "shoes", "sneaker", "trainer", "loafer", "sandal")),
    "boots": ("footwear", ("boot", "boots", "hiking boot", "chelsea boot")),
    "running_shoes": ("running", ("running shoe", "running shoes", "road running shoe", "trail shoe")),
    "sports_watch": ("running", ("gps watch", "running watch", "sports watch", "fitness tracker")),
    # fitness and outdoor
    "yoga_mat": ("fitness", ("yoga mat", "exercise mat")),
    "dumbbells": ("fitness", ("dumbbell", "kettlebell", "weight set")),
    "protein_powder": ("fitness", ("protein powder", "whey", "protein shake")),
    "backpack": ("outdoor", ("backpack", "rucksack", "daypack", "hiking pack")),
    "tent": ("camping", ("tent", "zelt", "tente")),
    "sleeping_bag": ("camping", ("sleeping bag", "schlafsack", "sac de couchage")),
    "camping_stove": ("camping", ("camping stove", "camp stove", "gas stove", "backpacking stove")),
    "sleeping_mat": ("camping", ("sleeping mat", "sleeping pad", "camping mat")),
    # cycling
    "bicycle": ("cycling", (
        "bicycle", "bike", "e bike", "ebike", "road bike", "gravel bike", "mountain bike", "fahrrad",
        "velo", "fiets",
    )),
    "bike_helmet": ("cycling", ("bike helmet", "cycling helmet", "helmet")),
    "bike_lock": ("cycling", ("bike lock", "d lock", "u lock")),
    "bike_light": ("cycling", ("bike light", "bike lights", "front light", "rear light")),
    # gadgets
    "television": ("electronics", ("tv", "television", "oled tv", "smart tv", "fernseher")),
    "camera": ("electronics", ("camera", "mirrorless", "dslr", "action cam")),
    "smartwatch": ("electronics", ("smartwatch", "smart watch")),
    "headphones": ("audio", ("headphone", "headphones", "earbuds", "earphones", "headset")),
    "speaker": ("audio", ("speaker", "soundbar", "bluetooth speaker")),
    "smartphone": ("mobile", ("smartphone", "phone", "iphone", "android phone", "mobile phone")),
    "phone_case": ("mobile", ("phone case", "phone cover", "screen protector")),
    "laptop": ("computing", ("laptop", "notebook computer", "macbook", "ultrabook", "chromebook")),
    "tablet": ("computing", ("tablet", "ipad")),
    "monitor": ("computing", ("monitor", "computer screen")),
    "game_console": ("gaming", ("console", "game console", "playstation", "xbox", "nintendo switch")),
    "video_game": ("gaming", ("video game", "ps5 game", "switch game")),
    # home and kitchen
    "sofa": ("home", ("sofa", "couch", "settee")),
    "mattress": ("home", ("mattress", "matratze")),
    "bedding": ("home", ("bedding", "duvet", "bed linen", "pillow")),
    "lamp": ("home", ("lamp", "floor lamp", "desk lamp", "lampe")),
    "espresso_machine": ("kitchen", (
        "espresso machine", "coffee machine", "coffee maker", "bean to cup", "kaffeevollautomat",
        "siebtrager", "cafetiere", "moka pot",
    )),
    "coffee_grinder": ("kitchen", ("coffee grinder", "burr grinder", "grinder")),
    "cookware": ("kitchen", ("pan", "frying pan", "skillet", "saucepan", "cookware", "dutch oven", "wok")),
    "kitchen_knife": ("kitchen", ("knife", "chef s knife", "santoku", "knife set")),
    # consumables
    "coffee_beans": ("coffee", (
        "coffee beans", "beans", "espresso blend", "espresso beans", "whole bean", "ground coffee",
        "single origin", "kaffeebohnen",
    )),
    "coffee_capsules": ("coffee", ("capsule", "capsules", "coffee pods", "pods", "nespresso pods")),
    "tea": ("coffee", ("tea", "loose leaf", "matcha", "tee beutel")),
    "pantry_staples": ("grocery", ("olive oil", "pasta", "rice", "flour", "pantry box")),
    "skincare": ("beauty", ("serum", "moisturiser", "moisturizer", "face cream", "skincare", "cleanser")),
    "fragrance": ("beauty", ("perfume", "eau de parfum", "eau de toilette", "fragrance", "cologne")),
    "makeup": ("beauty", ("lipstick", "mascara", "foundation", "eyeshadow", "makeup")),
    "razor": ("personal_care", ("razor", "shaver", "razor blades", "trimmer")),
    "toothbrush": ("personal_care", ("toothbrush", "electric toothbrush", "brush heads")),
    "shampoo": ("personal_care", ("shampoo", "conditioner", "body wash", "shower gel")),
    "vitamins": ("health", ("vitamin", "vitamins", "supplement", "multivitamin", "omega 3")),
    # family and pets
    "nappies": ("baby", ("nappy", "nappies", "diaper", "diapers", "windeln")),
    "pram": ("baby", ("pram", "stroller", "pushchair", "buggy", "kinderwagen")),
    "baby_formula": ("baby", ("baby formula", "infant formula", "baby milk")),
    "dog_food": ("pets", ("dog food", "puppy food", "kibble", "hundefutter")),
    "cat_food": ("pets", ("cat food", "kitten food", "katzenfutter")),
    "cat_litter": ("pets", ("cat litter", "litter")),
    "pet_accessory": ("pets", (
        "dog bed", "cat bed", "leash", "dog lead", "collar", "scratching post", "cat tree",
    )),
    "board_game": ("toys", ("board game", "card game", "jigsaw", "puzzle")),
    "building_toy": ("toys", ("lego", "building blocks", "construction set")),
    "book": ("books", ("book", "novel", "hardback", "paperback", "cookbook", "buch")),
    "e_reader": ("books", ("e reader", "ereader", "kindle", "kobo")),
    "luggage": ("travel", ("suitcase", "luggage", "carry on", "cabin bag")),
    "bouquet": ("flowers", ("bouquet", "roses", "tulips", "flowers", "posy")),
    "gift_card": ("gifts", ("gift card", "gift voucher", "gutschein")),
}
# A brand says what a shop sells when its title and SKU do not (few brands sell one thing only).
BRANDS: Final[dict[str, str]] = {
    "brompton": "bicycle", "cannondale": "bicycle", "trek": "bicycle", "specialized": "bicycle",
    "canyon": "bicycle", "gazelle": "bicycle", "msr": "tent", "big agnes": "tent",
    "hilleberg": "tent", "garmin": "sports_watch", "polar": "sports_watch", "sonos": "speaker",
    "bose": "headphones", "sennheiser": "headphones", "nespresso": "coffee_capsules",
    "gaggia": "espresso_machine", "sage": "espresso_machine", "de longhi": "espresso_machine",
    "delonghi": "espresso_machine", "kindle": "e_reader", "kobo": "e_reader", "lego": "building_toy",
    "pampers": "nappies", "royal canin": "dog_food", "whiskas": "cat_food", "samsonite": "luggage",
}
# fmt: on
# Consumables: roughly how many days one usual purchase lasts, so that a refill follow-up goes out
# before it runs out (a bag of beans, a month of kibble). Rough on purpose: a shop knows its pack
# sizes better, and the follow-up's window is a few days wide.
# fmt: off
RUNS_OUT_AFTER_DAYS: Final[dict[str, int]] = {
    "coffee_beans": 30, "coffee_capsules": 30, "tea": 45, "pantry_staples": 30,
    "protein_powder": 30, "vitamins": 30, "skincare": 60, "makeup": 90, "shampoo": 45,
    "razor": 30, "toothbrush": 90, "nappies": 14, "baby_formula": 14,
    "dog_food": 30, "cat_food": 30, "cat_litter": 21,
}
# fmt: on
assert all(category in CATEGORIES for category, _ in PRODUCT_TYPES.values()), "types sit in categories"
assert set(BRANDS.values()) <= set(PRODUCT_TYPES), "brands name known types"
assert set(RUNS_OUT_AFTER_DAYS) <= set(PRODUCT_TYPES), "only known types run out"

PRODUCT_TYPE_NAMES: Final[tuple[str, ...]] = tuple(PRODUCT_TYPES)
CATEGORY_OF: Final[dict[str, str]] = {name: category for name, (category, _) in PRODUCT_TYPES.items()}

_NON_WORD = re.compile(r"[^a-z0-9]+")


def _words(text: str) -> tuple[str, ...]:
    """Normalised words: accents dropped, case folded, punctuation a space, a plural `s` dropped."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().casefold()
    return tuple(_singular(word) for word in _NON_WORD.sub(" ", ascii_text).split())


def _singular(word: str) -> str:
    # "tents" → "tent", "glasses" → "glasse": the same on both sides, which is all matching needs.
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _phrases(entries: Iterable[tuple[str, Iterable[str]]]) -> dict[tuple[str, ...], str]:
    found: dict[tuple[str, ...], str] = {}
    for name, phrases in entries:
        for phrase in phrases:
            found.setdefault(_words(phrase), name)
    return found


_TYPE_PHRASES: Final = _phrases((name, phrases) for name, (_, phrases) in PRODUCT_TYPES.items())
_BRAND_PHRASES: Final = _phrases((name, (brand,)) for brand, name in BRANDS.items())
_LONGEST: Final = max(len(phrase) for phrase in (*_TYPE_PHRASES, *_BRAND_PHRASES))


def _best_match(text: str, phrases: dict[tuple[str, ...], str], category: str | None) -> str | None:
    """The type named by the longest phrase in `text` (then one of `category`, then the first)."""
    words = _words(text)
    best: tuple[int, int, int] | None = None
    chosen = None
    for start in range(len(words)):
        for length in range(min(_LONGEST, len(words) - start), 0, -1):
            name = phrases.get(words[start : start + length])
            if name is None:
                continue
            rank = (length, 1 if CATEGORY_OF[name] == category else 0, -start)
            if best is None or rank > best:
                best, chosen = rank, name
            break  # a shorter phrase at the same start says less
    return chosen


@lru_cache(maxsize=4096)  # a shop sells far fewer titles than this in a warm hour
def product_type_of(
    title: str | None = None, sku: str | None = None, brand: str | None = None, category: str | None = None
) -> str | None:
    """The product type a line item (or an offer) names, or None when the vocabulary has no word for it.

    `category` (the item's taxonomy category) only breaks ties between equally long matches.
    """
    for text in (title, sku):
        if text:
            found = _best_match(text[:512], _TYPE_PHRASES, category)
            if found is not None:
                return found
    if brand:
        return _best_match(brand[:128], _BRAND_PHRASES, category)
    return None


def runs_out_after_days(product_type: str | None) -> int | None:
    """How many days a purchase of this product type usually lasts; None if it is not a consumable."""
    return RUNS_OUT_AFTER_DAYS.get(product_type or "")


def product_types_of(
    items: Iterable[tuple[str | None, str | None, str | None, str | None]],
) -> frozenset[str]:
    """The product types of several (title, sku, brand, category) line items (unknowns left out)."""
    found = (product_type_of(*item) for item in items)
    return frozenset(name for name in found if name is not None)
