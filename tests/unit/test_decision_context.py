"""What a decision tells the learner about its order: product type, order value, country, segment,
gift — each from a bounded vocabulary, so counters stay bounded whatever a shop sends."""

from hypothesis import given
from hypothesis import strategies as st

from afterglow.feedback import COUNTRIES, ORDER_VALUES, SHARED_FEATURES, fold, global_rows, order_value_bucket
from afterglow.product_types import PRODUCT_TYPES
from afterglow.services.decisions import learning_context, main_product_type
from tests.unit.builders import make_request, make_retailer


def test_the_learning_context_says_what_the_order_says():
    # Given a gift order of a bicycle and a bell, from a VIP customer in the Netherlands
    request = make_request(
        categories=("cycling", "cycling"),
        titles=("Gazelle city bike", "Bell"),
        customer={"id": "c-1", "country": "NL", "segment": "VIP"},
        survey={"is_gift": True},
    )
    retailer = make_retailer().model_copy(update={"segments": ["vip"]})
    # Then the learner hears the main item's category and type, the value's bucket, country, segment, gift
    assert learning_context(request, retailer) == {
        "purchase_category": "cycling",
        "product_type": "bicycle",
        "order_value": "100_250",
        "country": "NL",
        "segment": "vip",
        "gift": "yes",
    }


def test_the_main_product_type_is_the_most_valuable_item_the_vocabulary_knows():
    request = make_request(
        categories=("camping", "camping", "gifts"), titles=("Tent", "Sleeping bag", "Mystery")
    )
    items = [
        item.model_copy(update={"price_minor": price})
        for item, price in zip(request.line_items, (5_000, 9_000, 50_000), strict=True)
    ]
    assert main_product_type(request.model_copy(update={"line_items": items})) == "sleeping_bag"
    assert main_product_type(make_request(categories=("gifts",), titles=("Mystery box",))) is None


def test_an_order_without_titles_or_country_adds_neither():
    context = learning_context(make_request(customer={"id": "c-1"}), make_retailer())
    assert set(context) == {"purchase_category", "order_value"}


def test_order_values_fall_in_a_few_buckets():
    assert [order_value_bucket(v) for v in (0, 2_499, 2_500, 9_999, 24_900, 49_999, 50_000, 10**12)] == [
        "under_25",
        "under_25",
        "25_50",
        "50_100",
        "100_250",
        "250_500",
        "500_plus",
        "500_plus",
    ]


def test_a_country_outside_the_learned_markets_is_other():
    request = make_request(customer={"id": "c-1", "country": "BR"})
    assert learning_context(request, make_retailer())["country"] == "other"
    assert "DE" in COUNTRIES


@given(
    st.dictionaries(st.sampled_from([*SHARED_FEATURES, "segment", "extra"]), st.text(max_size=20), max_size=8)
)
def test_only_vocabulary_values_are_ever_counted(context):
    rows = global_rows(context)
    assert rows[0] == ("*", "*")
    assert all(value in SHARED_FEATURES[feature] for feature, value in rows[1:])


def test_a_decision_record_counts_its_product_type_value_and_country():
    record = {
        "kind": "decision",
        "retailer_id": "ret_1",
        "offer_ids": ["off_1"],
        "context": {
            "purchase_category": "cycling",
            "product_type": "bicycle",
            "order_value": "100_250",
            "country": "NL",
            "gift": "yes",
        },
    }
    rows = fold([record], {"ret_1": []}).counters[("off_1", "ret_1")]
    assert set(rows) == {
        ("*", "*"),
        ("purchase_category", "cycling"),
        ("product_type", "bicycle"),
        ("order_value", "100_250"),
        ("country", "NL"),
        ("gift", "yes"),
    }
    assert (
        set(PRODUCT_TYPES) == SHARED_FEATURES["product_type"]
        and SHARED_FEATURES["order_value"] == ORDER_VALUES
    )
