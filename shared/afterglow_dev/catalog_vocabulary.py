"""Word lists and per-category market profiles behind the synthetic partner catalog.

Pure data: `afterglow_dev.catalog_generator` draws from it with a seeded random generator. Lists are
space- or `|`-separated strings so that the data reads as prose rather than as one word a line.
"""

from dataclasses import dataclass
from typing import Final

from afterglow.taxonomy import CATEGORIES


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


@dataclass(frozen=True)
class Market:
    """Where a partner sells: its currency, the countries it ships to, and its local price level."""

    currency: str
    countries: tuple[str, ...]
    weight: int
    price_level: float  # local price points per euro
    rounding: int  # payouts are round numbers in this currency (minor units)


MARKETS: Final[tuple[Market, ...]] = (
    Market("EUR", ("DE", "FR", "NL", "BE", "AT", "IE", "ES", "IT", "FI", "PT"), 48, 1.0, 50),
    Market("GBP", ("GB", "IE"), 24, 0.85, 50),
    Market("USD", ("US", "CA"), 22, 1.1, 50),
    Market("SEK", ("SE",), 2, 11.0, 500),
    Market("DKK", ("DK",), 1, 7.5, 500),
    Market("PLN", ("PL",), 2, 4.3, 100),
    Market("CHF", ("CH",), 1, 0.95, 50),
)


@dataclass(frozen=True)
class CategoryProfile:
    """How partners in one category name themselves, what they sell and how they pay.

    `price` and `fixed` are euro minor units (scaled to the partner's market); `fixed` is what the
    cheapest paid action (a sign-up) earns; later actions earn multiples of it.
    """

    weight: int  # share of partner brands in this category
    stems: str
    products: str
    benefits: str
    price: tuple[int, int]
    actions: tuple[str, ...]
    fixed: tuple[int, int]
    bps: tuple[int, int]
    percent_share: float  # share of offers paid as a percentage of the basket
    tags: tuple[str, ...] = ()


# fmt: off
# weight, name stems, products, benefits, price range, paid actions, sign-up payout range,
# percentage range (bps), share paid as a percentage, tags
P = CategoryProfile
PROFILES: Final[dict[str, CategoryProfile]] = {
    "apparel": P(9, "Thread Loom Stitch Linen Denim Cotton Tailor Weave Drape Hem Seam Merino Cashmere",
                 "denim edit|linen shirt|merino knit|capsule wardrobe|everyday tee pack|rain jacket",
                 "cut from organic cotton to last|free returns for 60 days|tailored in small batches",
                 (1999, 14900), ("first_purchase", "signup"), (300, 900), (600, 1500), 0.7),
    "footwear": P(4, "Stride Sole Lace Heel Cobble Step Tread Arch Welt Last",
                  "leather sneaker|trail shoe|everyday loafer|insole upgrade|shoe care kit",
                  "hand-finished in Portugal|free resoling for a year|half sizes and wide fits",
                  (2999, 18900), ("first_purchase",), (500, 1500), (500, 1200), 0.6),
    "running": P(2, "Pace Tempo Stride Split Kilometre Mile Sprint Cadence Trail Relay",
                 "running plan|race entry|gait analysis|running club membership|hydration vest",
                 "coached by former national-team runners|plans that adapt to your week",
                 (999, 8900), ("signup", "subscription"), (400, 1200), (800, 1500), 0.2),
    "fitness": P(5, "Pulse Core Lift Flex Kettle Rep Form Iron Motion Zone Vital",
                 "home workout app|personal training|gym day pass|yoga membership|protein starter box",
                 "classes from ten minutes a day|cancel any time|trainers who answer within a day",
                 (999, 5900), ("signup", "subscription"), (500, 1500), (1000, 3000), 0.15, ("subscription",)),
    "outdoor": P(3, "Summit Ridge Alpine Fjord Cairn Basecamp Timber Boulder Glacier Compass",
                 "guided hike|waterproof shell|map subscription|via ferrata day|national park pass",
                 "tested in the Alps before it reaches you|guides certified by mountain associations",
                 (1999, 24900), ("first_purchase", "signup"), (400, 1200), (500, 1200), 0.5),
    "camping": P(2, "Camp Ember Pitch Canopy Lantern Bivvy Campfire Pine Meadow Hollow",
                 "campsite booking|camp stove|dehydrated meal pack|sleeping mat|glamping weekend",
                 "pitches at 900 sites across Europe|free cancellation up to 48 hours before",
                 (1499, 19900), ("first_purchase",), (500, 1500), (400, 1000), 0.5),
    "cycling": P(3, "Crank Spoke Gear Pedal Chain Velo Cadence Sprocket Saddle Peloton",
                 "bike service|cycling insurance|indoor training app|saddle fitting|bike lock",
                 "mobile mechanics at your door|ride with friends in virtual races",
                 (999, 12900), ("signup", "subscription", "first_purchase"), (500, 1500), (500, 1200), 0.3),
    "electronics": P(4, "Volt Circuit Pixel Ohm Signal Spark Nano Flux Quantum Relay",
                     "extended warranty|charging dock|smart plug pack|screen protector|trade-in credit",
                     "two-year cover with no excess|next-day replacement|certified refurbished",
                     (999, 29900), ("first_purchase", "signup"), (500, 2000), (200, 800), 0.5),
    "audio": P(2, "Echo Tone Bass Chord Treble Tune Vinyl Resonance Lyric Amp",
               "hi-fi streaming trial|headphone case|speaker upgrade|audiobook credits|vinyl club",
               "lossless audio on every device|curated by sound engineers",
               (999, 19900), ("signup", "subscription"), (300, 1200), (500, 1200), 0.2, ("subscription",)),
    "mobile": P(3, "Cell Roam Signal Bar Tap Swipe Dial Link Pocket Beam",
                "eSIM data plan|phone insurance|SIM-only deal|roaming pass|phone case",
                "keep your number and switch in minutes|coverage in 120 countries",
                (499, 4900), ("signup", "subscription"), (800, 3000), (500, 1000), 0.1),
    "computing": P(2, "Byte Kernel Cloud Cache Logic Stack Vector Binary Matrix Node",
                   "cloud backup|password manager|VPN plan|office suite|antivirus licence",
                   "end-to-end encrypted|protects up to five devices|set up in two minutes",
                   (299, 9900), ("signup", "subscription"), (500, 2500), (1500, 3000), 0.25,
                   ("subscription",)),
    "gaming": P(3, "Pixel Quest Arcade Loot Respawn Joystick Level Boss Combo Dungeon",
                "game pass|gaming headset|cloud gaming trial|controller grip|in-game credit pack",
                "hundreds of titles on day one|play on console, PC or phone",
                (499, 7900), ("signup", "subscription", "first_purchase"), (300, 1500), (500, 1500), 0.3),
    "home": P(6, "Hearth Nest Haven Oak Willow Loft Abode Ember Linden Dwell Cove Terrace",
              "bedding set|smart thermostat|cleaning service|candle subscription|houseplant box|rug",
              "made for real homes|delivered and set up for free|100-night trial",
              (1999, 39900), ("first_purchase", "subscription"), (500, 2500), (500, 1200), 0.6),
    "kitchen": P(4, "Whisk Skillet Ladle Copper Cast Knife Larder Simmer Zest Pantry",
                 "chef's knife|knife sharpening service|cookware set|cooking class|spice subscription",
                 "forged in Solingen|lifetime sharpening included|taught by working chefs",
                 (1499, 19900), ("first_purchase", "signup"), (400, 1500), (600, 1200), 0.6),
    "coffee": P(3, "Bean Roast Brew Crema Grind Barista Origin Kettle Mocha Arabica Drip",
                "espresso blend|single-origin roast|coffee subscription|grinder upgrade|tea sampler",
                "roasted to order and shipped within 48 hours|skip or pause any month",
                (799, 4900), ("first_purchase", "subscription"), (300, 1200), (1000, 2000), 0.4,
                ("refill", "subscription")),
    "grocery": P(4, "Harvest Basket Orchard Field Larder Crate Pantry Acre Grove Market",
                 "organic veg box|pantry refill|zero-waste staples|fruit box|bulk olive oil",
                 "from farms within 100 km|refills on your schedule|plastic-free packaging",
                 (1499, 6900), ("first_purchase", "subscription"), (400, 1500), (300, 800), 0.4, ("refill",)),
    "beauty": P(8, "Glow Bloom Velvet Lumen Crème Petal Silk Aura Rosé Dew Halo Muse Lush",
                "skincare set|serum trial|beauty box|fragrance sample|nail kit|hair mask",
                "dermatologist tested|vegan and cruelty free|shade matching by a real person",
                (999, 8900), ("first_purchase", "subscription", "signup"), (300, 1200), (800, 2000), 0.6),
    "personal_care": P(5, "Fresh Pure Clean Razor Lather Mint Bristle Tonic Balm Sage",
                       "razor refill|toothbrush heads|deodorant refill|shaving kit|body wash trio",
                       "blades delivered before you need them|refillable and recyclable",
                       (499, 3900), ("first_purchase", "subscription"), (300, 1000), (800, 1500), 0.3,
                       ("refill",)),
    "health": P(5, "Vita Remedy Thrive Well Balance Nourish Care Vital Herb Restore",
                "vitamin plan|online doctor visit|sleep programme|health check|physio session",
                "personalised after a two-minute quiz|registered practitioners only",
                (999, 7900), ("signup", "first_purchase", "subscription"), (500, 2500), (800, 1500), 0.2),
    "baby": P(3, "Cradle Nestle Bub Lullaby Tot Cuddle Bloom Rattle Little Bonnet",
              "nappy subscription|baby monitor|sleep sack|newborn photo shoot|toy rental box",
              "pediatrician approved|swap sizes any time|free next-day delivery",
              (999, 14900), ("first_purchase", "subscription"), (500, 2000), (500, 1200), 0.4, ("refill",)),
    "pets": P(4, "Paw Whisker Tail Bark Purr Fetch Kibble Collar Burrow Mane",
              "fresh dog food|pet insurance|litter subscription|vet video call|treat box",
              "cooked by vets, not factories|claims paid in five days|first box half price",
              (799, 6900), ("first_purchase", "subscription", "signup"), (500, 3000), (800, 1500), 0.3),
    "toys": P(3, "Marble Kite Puzzle Spinner Block Doodle Pebble Wonder Giggle Tinker",
              "wooden toy box|STEM kit|puzzle subscription|craft box|board game",
              "designed with teachers|plastic-free and built to last|new theme each month",
              (999, 7900), ("first_purchase", "subscription"), (300, 1200), (600, 1200), 0.5, ("gift",)),
    "books": P(3, "Page Quill Chapter Ink Folio Verse Margin Spine Novel Lantern",
               "audiobook trial|book club|e-reader|signed edition|reading journal",
               "picked by independent booksellers|first three months half price",
               (499, 12900), ("signup", "subscription", "first_purchase"), (300, 1200), (500, 1200), 0.3),
    "streaming": P(4, "Stream Reel Cinema Frame Cast Marquee Prime Flicker Screen Tune",
                   "film streaming|music streaming|documentary channel|sports pass|kids' channel",
                   "ad-free in 4K|cancel in two clicks|download to watch offline",
                   (499, 1999), ("signup", "subscription"), (200, 1500), (1000, 3000), 0.05,
                   ("subscription",)),
    "travel": P(5, "Voyage Atlas Harbour Jet Compass Nomad Horizon Route Wander Meridian",
                "weekend city break|airport lounge pass|car hire|hotel credit|eSIM for travel",
                "best-price guarantee|free cancellation on most stays|no booking fees",
                (1999, 49900), ("first_purchase", "signup"), (500, 3000), (300, 800), 0.7, ("service",)),
    "insurance": P(4, "Shield Guard Anchor Harbour Sure Keystone Bastion Aegis Haven Bulwark",
                   "gadget insurance|travel insurance|home contents cover|bike insurance|pet cover",
                   "claims settled in 48 hours|cover from the first day|rated excellent by customers",
                   (299, 2999), ("signup", "subscription"), (1000, 4000), (500, 1500), 0.05, ("service",)),
    "finance": P(5, "Ledger Coin Mint Vault Penny Capital Sterling Fund Yield Bullion",
                 "current account|savings account|cashback card|investing app|budgeting app",
                 "no monthly fee|interest paid daily|regulated and protected up to 100,000",
                 (0, 0), ("signup", "first_purchase"), (1500, 6000), (0, 0), 0.0, ("service",)),
    "gifts": P(3, "Ribbon Keepsake Parcel Wish Treasure Charm Token Confetti Bow Gem",
               "gift experience|engraved keepsake|gift card|hamper|personalised print",
               "wrapped by hand with a card|delivered on the day you choose",
               (999, 14900), ("first_purchase",), (300, 1500), (600, 1500), 0.6, ("gift",)),
    "flowers": P(2, "Petal Blossom Stem Bouquet Posy Fern Peony Tulip Meadow Bud",
                 "seasonal bouquet|flower subscription|dried flower wreath|houseplant|same-day posy",
                 "grown by small farms|next-day delivery and a seven-day freshness promise",
                 (1999, 7900), ("first_purchase", "subscription"), (300, 1200), (800, 1500), 0.5, ("gift",)),
    "meal_kits": P(4, "Fork Plate Supper Table Skillet Feast Harvest Spoon Oven Bistro",
                   "meal kit|ready meals|family recipe box|vegan box|breakfast box",
                   "recipes ready in 20 minutes|skip any week|first box 60% off",
                   (2999, 7900), ("first_purchase", "subscription"), (1000, 4000), (500, 1500), 0.2,
                   ("subscription",)),
    "charity": P(2, "Hope Unity Kindred Bridge Beacon Common Open Harbour Root Tide",
                 "monthly donation|tree planting|clean water gift|meal donation|sponsor a child",
                 "95% reaches the project|a report on the impact every quarter",
                 (0, 0), ("signup",), (100, 500), (0, 0), 0.0, ("donation",)),
}
# fmt: on
assert set(PROFILES) == set(CATEGORIES), "every category of the taxonomy needs a profile"

ADJECTIVES: Final = _words(
    "Golden Little Wild Bright Bold Honest Happy Northern Quiet Urban Good Clever Humble Blue Green"
    " Silver Noble Simple True Daily Fair Modern Rustic Swift Kind Brave Coastal Open Second Royal"
)
COMPANY_NOUNS: Final = _words("Co Club Lab Works House Studio Collective Supply Company Society Post Goods")
SUFFIXES: Final = _words("ly ify io hub box ful wise")
SURNAMES: Final = _words(
    "Harper Ellis Bennett Moreau Fischer Rossi Lindqvist Novak Okafor Sato Garcia Keller Dubois Walsh"
    " Brennan Vogel Larsen Costa Hughes Jansen Romero Nilsson Byrne Kowalski Meyer Murphy Laurent Bauer"
)

TITLES: Final[dict[str, tuple[str, ...]]] = {
    "signup": (
        "Join {brand} free",
        "Free {trial}-day {product} trial",
        "Try {product}: first {trial} days free",
    ),
    "first_purchase": (
        "{discount}% off your first {product}",
        "Your first {product} from {brand}",
        "Save on a {product} today",
    ),
    "subscription": (
        "Subscribe to {product}: {discount}% off",
        "{product}, delivered every month",
        "{brand} {product}: first month {discount}% off",
    ),
}
CTAS: Final[dict[str, tuple[str, ...]]] = {
    "signup": ("Sign up free", "Start free trial", "Join now", "Claim offer"),
    "first_purchase": ("Shop now", "Claim discount", "Get the deal", "Claim offer"),
    "subscription": ("Subscribe", "Start subscription", "Try the first box", "Claim offer"),
}


@dataclass(frozen=True)
class OfferRole:
    """What an offer of one product is and goes with (`OfferCreate.offer_type`, `product_type`,
    `complements`, `giftable`), where it is obvious from the product."""

    offer_type: str
    product_type: str | None = None
    categories: tuple[str, ...] = ()
    product_types: tuple[str, ...] = ()
    giftable: bool = False


def _role(offer_type: str, product_type: str = "", goes_with: str = "", gift: bool = False) -> OfferRole:
    """`goes_with`: categories, then `/`, then product types ("cycling / bicycle")."""
    categories, _, types = goes_with.partition("/")
    return OfferRole(offer_type, product_type or None, _words(categories), _words(types), gift)


GADGETS: Final = "electronics mobile computing audio gaming"
# fmt: off
# product (as in PROFILES) -> its role; products not listed are plain products that declare nothing.
R = _role
OFFER_ROLES: Final[dict[str, OfferRole]] = {
    # apparel, footwear, running, fitness
    "denim edit": R("product", "jeans"), "everyday tee pack": R("product", "tshirt"),
    "rain jacket": R("product", "jacket"), "leather sneaker": R("product", "shoes"),
    "trail shoe": R("product", "running_shoes"), "everyday loafer": R("product", "shoes"),
    "insole upgrade": R("accessory", "", "footwear running / shoes boots running_shoes"),
    "shoe care kit": R("accessory", "", "footwear / shoes boots running_shoes"),
    "running plan": R("service", "", "running / running_shoes sports_watch"),
    "race entry": R("experience", "", "running fitness / running_shoes", gift=True),
    "gait analysis": R("service", "", "running / running_shoes"),
    "running club membership": R("membership", "", "running / running_shoes"),
    "hydration vest": R("accessory", "", "running outdoor / running_shoes backpack"),
    "home workout app": R("subscription"), "personal training": R("service"),
    "gym day pass": R("experience", gift=True), "yoga membership": R("membership", "", "fitness / yoga_mat"),
    "protein starter box": R("product", "protein_powder"),
    # outdoor, camping, cycling
    "guided hike": R("experience", "", "outdoor camping / boots backpack", gift=True),
    "waterproof shell": R("product", "jacket"), "map subscription": R("subscription"),
    "via ferrata day": R("experience", gift=True), "national park pass": R("experience", gift=True),
    "campsite booking": R("service", "", "camping outdoor / tent sleeping_bag sleeping_mat"),
    "camp stove": R("accessory", "camping_stove", "camping / tent sleeping_bag"),
    "dehydrated meal pack": R("product", "", "camping outdoor / tent camping_stove backpack"),
    "sleeping mat": R("accessory", "sleeping_mat", "camping / tent sleeping_bag"),
    "glamping weekend": R("experience", gift=True),
    "bike service": R("service", "", "/ bicycle"),
    "cycling insurance": R("insurance", "", "/ bicycle"),
    "indoor training app": R("subscription", "", "cycling / bicycle"),
    "saddle fitting": R("service", "", "/ bicycle"),
    "bike lock": R("accessory", "bike_lock", "/ bicycle"),
    # gadgets
    "extended warranty": R("insurance", "", GADGETS),
    "charging dock": R("accessory", "", "mobile / smartphone smartwatch headphones"),
    "smart plug pack": R("product"),
    "screen protector": R("accessory", "phone_case", "/ smartphone tablet"),
    "trade-in credit": R("service", "", GADGETS),
    "hi-fi streaming trial": R("subscription", "", "audio / headphones speaker"),
    "headphone case": R("accessory", "", "/ headphones"),
    "speaker upgrade": R("product", "speaker"), "audiobook credits": R("subscription"),
    "vinyl club": R("subscription", "", "audio / speaker", gift=True),
    "eSIM data plan": R("subscription", "", "mobile / smartphone tablet"),
    "phone insurance": R("insurance", "", "/ smartphone"),
    "SIM-only deal": R("subscription", "", "mobile / smartphone"),
    "roaming pass": R("service", "", "mobile travel / smartphone luggage"),
    "phone case": R("accessory", "phone_case", "/ smartphone"),
    "cloud backup": R("subscription", "", "computing / laptop tablet smartphone"),
    "password manager": R("subscription"), "VPN plan": R("subscription"),
    "office suite": R("subscription", "", "computing / laptop tablet"),
    "antivirus licence": R("subscription", "", "computing / laptop"),
    "game pass": R("subscription", "", "gaming / game_console"),
    "gaming headset": R("accessory", "headphones", "gaming / game_console"),
    "cloud gaming trial": R("subscription"),
    "controller grip": R("accessory", "", "/ game_console"),
    "in-game credit pack": R("product", "", "", gift=True),
    # home, kitchen, coffee, grocery
    "bedding set": R("product", "bedding"), "smart thermostat": R("product"),
    "cleaning service": R("service", "", "home"), "candle subscription": R("subscription"),
    "houseplant box": R("product", "", "", gift=True), "rug": R("product"),
    "chef's knife": R("product", "kitchen_knife"),
    "knife sharpening service": R("service", "", "/ kitchen_knife"),
    "cookware set": R("product", "cookware"), "cooking class": R("experience", gift=True),
    "spice subscription": R("subscription", "", "kitchen meal_kits / cookware"),
    "espresso blend": R("product", "coffee_beans", "coffee / espresso_machine coffee_grinder"),
    "single-origin roast": R("product", "coffee_beans", "coffee / espresso_machine coffee_grinder"),
    "coffee subscription": R("subscription", "coffee_beans", "coffee / espresso_machine coffee_grinder"),
    "grinder upgrade": R("accessory", "coffee_grinder", "/ espresso_machine coffee_beans"),
    "tea sampler": R("product", "tea", "", gift=True),
    "organic veg box": R("subscription"), "pantry refill": R("refill", "pantry_staples", "grocery"),
    "zero-waste staples": R("product", "pantry_staples"), "fruit box": R("subscription"),
    "bulk olive oil": R("product", "pantry_staples"),
    # beauty, personal care, health, baby
    "skincare set": R("product", "skincare", "", gift=True), "serum trial": R("product", "skincare"),
    "beauty box": R("subscription", "", "", gift=True), "fragrance sample": R("product", "fragrance"),
    "nail kit": R("product", "makeup"), "hair mask": R("product", "shampoo"),
    "razor refill": R("refill", "", "/ razor"), "toothbrush heads": R("refill", "", "/ toothbrush"),
    "deodorant refill": R("refill", "", "personal_care"), "shaving kit": R("product", "razor"),
    "body wash trio": R("product", "shampoo"),
    "vitamin plan": R("subscription", "vitamins"), "online doctor visit": R("service"),
    "sleep programme": R("service"), "health check": R("service"),
    "physio session": R("service", "", "running fitness health / running_shoes"),
    "nappy subscription": R("subscription", "nappies", "baby"),
    "baby monitor": R("product"), "sleep sack": R("product", "", "", gift=True),
    "newborn photo shoot": R("experience", "", "baby", gift=True),
    "toy rental box": R("subscription", "", "baby toys"),
    # pets
    "fresh dog food": R("product", "dog_food", "pets"),
    "pet insurance": R("insurance", "", "pets"),
    "litter subscription": R("subscription", "cat_litter", "pets / cat_food cat_litter"),
    "vet video call": R("service", "", "pets"),
    "treat box": R("subscription", "", "pets"),
    # toys, books, streaming
    "wooden toy box": R("product", "", "", gift=True), "STEM kit": R("product", "", "", gift=True),
    "puzzle subscription": R("subscription", "board_game"), "craft box": R("product", "", "", gift=True),
    "board game": R("product", "board_game", "", gift=True),
    "audiobook trial": R("subscription"), "book club": R("subscription", "", "books", gift=True),
    "e-reader": R("product", "e_reader"), "signed edition": R("product", "book", "", gift=True),
    "reading journal": R("product", "", "books", gift=True),
    "film streaming": R("subscription", "", "", gift=True),
    "music streaming": R("subscription", "", "audio / headphones speaker", gift=True),
    "documentary channel": R("subscription"), "sports pass": R("subscription"),
    "kids' channel": R("subscription"),
    # travel, insurance, finance
    "weekend city break": R("experience", gift=True),
    "airport lounge pass": R("service", "", "travel / luggage"),
    "car hire": R("service", "", "travel"), "hotel credit": R("experience", gift=True),
    "eSIM for travel": R("service", "", "travel / luggage smartphone"),
    "gadget insurance": R("insurance", "", GADGETS),
    "travel insurance": R("insurance", "", "travel / luggage"),
    "home contents cover": R("insurance", "", "home / sofa mattress television"),
    "bike insurance": R("insurance", "", "cycling / bicycle"),
    "pet cover": R("insurance", "", "pets"),
    "current account": R("service"), "savings account": R("service"), "cashback card": R("service"),
    "investing app": R("service"), "budgeting app": R("subscription"),
    # gifts, flowers, meal kits, charity
    "gift experience": R("experience", gift=True), "engraved keepsake": R("product", "", "", gift=True),
    "gift card": R("product", "gift_card", "", gift=True), "hamper": R("product", "", "", gift=True),
    "personalised print": R("product", "", "", gift=True),
    "seasonal bouquet": R("product", "bouquet", "", gift=True),
    "flower subscription": R("subscription", "bouquet", "", gift=True),
    "dried flower wreath": R("product", "", "", gift=True), "houseplant": R("product", "", "", gift=True),
    "same-day posy": R("product", "bouquet", "", gift=True),
    "meal kit": R("subscription"), "ready meals": R("subscription"), "family recipe box": R("subscription"),
    "vegan box": R("subscription"), "breakfast box": R("subscription"),
    "monthly donation": R("donation", gift=True), "tree planting": R("donation", gift=True),
    "clean water gift": R("donation", gift=True), "meal donation": R("donation", gift=True),
    "sponsor a child": R("donation"),
}
# fmt: on
_PRODUCTS: Final = {product for profile in PROFILES.values() for product in profile.products.split("|")}
assert set(OFFER_ROLES) <= _PRODUCTS, f"roles of unknown products: {set(OFFER_ROLES) - _PRODUCTS}"
