"""`make bench`, the learning loop: what the pipeline costs, measured on moto, and priced on paper.

- The published model at 20,000 offers: its size and the time a decide container takes to load it.
- The aggregator under the traffic mix of a busy shop (per decision: 3 offers shown, ~2 viewable
  impressions, 0.3 clicks, 0.02 conversions; offers Zipf-popular), folded in Lambda-sized batches:
  write units per ledger record and per decision (DynamoDB's rule: 1 WRU per KB of the item
  written, twice that in a transaction), the largest counter item, and how often the hottest item
  would be written at 10,000 decisions a second.
- The trainer's read of the counters (RRU per run) and the lag from a conversion to the model on
  a running loop.
- Cost per million orders from those figures and public on-demand prices (inputs listed).
"""

import gzip
import json
import math
import random
import time
from datetime import UTC, datetime
from typing import Any

# Public prices (us-east-1, on-demand, arm64) used for the cost model; inputs, not measurements.
PRICES = {
    "dynamodb_per_million_wru": 0.625,
    "dynamodb_per_million_rru": 0.125,
    "lambda_per_million_requests": 0.20,
    "lambda_per_gb_second": 0.0000133334,
    "http_api_per_million_requests": 1.00,
    "s3_per_thousand_puts": 0.005,
    "s3_per_thousand_gets": 0.0004,
}
OFFERS_SHOWN = 3
MIX = {"impressions": 2.0, "clicks": 0.3, "conversions": 0.02}  # per decision
PEAK_DECISIONS_PER_S = 10_000
STREAM_BATCH = 1_000


def synthetic_rows(offer_ids: list[str], retailer_id: str, seed: int = 7) -> list[list[Any]]:
    """A trained model's counter rows for every offer: the offer, five purchase categories, gift,
    segments (9 rows per offer)."""
    from afterglow.taxonomy import CATEGORIES

    rng = random.Random(seed)  # noqa: S311 - synthetic data, not secrets
    rows = []
    for offer_id in offer_ids:
        cells = [
            ("*", "*"),
            ("gift", "yes"),
            ("segment", f"{retailer_id}/vip"),
            ("segment", f"{retailer_id}/other"),
        ]
        cells += [("purchase_category", category) for category in rng.sample(CATEGORIES, 5)]
        for feature, value in cells:
            shown = rng.randint(1, 5_000)
            successes = rng.randint(0, max(shown // 50, 1))
            rows.append([offer_id, feature, value, shown, successes, successes * 700, successes * 490_000])
    return sorted(rows)


def bench_model(index: Any) -> dict[str, Any]:
    """The published model's size at this catalog, the time a decide takes to load it (parse and
    build the policy), and its first decision's ranking of 40 candidates (their counters read)."""
    from afterglow.learning.published import policy_of, published_model

    offer_ids = sorted(index.offers)
    started = time.perf_counter()
    model = published_model(
        synthetic_rows(offer_ids, "ret_bench"),
        offer_categories=index.offer_categories,
        budgets={"budget_day": "2026-12-05", "exhausted_partners": [], "pacing": {}},
    )
    publish_ms = (time.perf_counter() - started) * 1000
    blob = gzip.compress(json.dumps(model, sort_keys=True, separators=(",", ":")).encode(), mtime=0)
    context = {"purchase_category": "camping", "segment": "ret_bench/vip"}
    loads, first_ranks = [], []
    for attempt in range(3):
        started = time.perf_counter()
        policy = policy_of(json.loads(gzip.decompress(blob)), offer_categories=index.offer_categories)
        loaded = time.perf_counter()
        policy.rank(context, offer_ids[attempt * 40 : attempt * 40 + 40], k=3, seed=attempt)
        loads.append((loaded - started) * 1000)
        first_ranks.append((time.perf_counter() - loaded) * 1000)
    return {
        "model_offers": len(offer_ids),
        "model_rows": sum(len(json.loads(raw)) for raw in model["arms"].values()),
        "model_gzip_bytes": len(blob),
        "model_load_ms": sorted(loads)[1],
        "model_first_rank_ms": sorted(first_ranks)[1],
        "model_publish_ms": publish_ms,
    }


def _traffic(
    offer_ids: list[str], decisions: int, rng: random.Random
) -> list[tuple[str, str, dict[str, Any]]]:
    """Ledger records (pk, kind, body) of `decisions` orders under MIX, offers Zipf-popular, each
    with a learning context as decide writes it: category and product type, segment, order-value
    bucket, country (eight markets), a gift now and then."""
    from afterglow.feedback import ORDER_VALUES
    from afterglow.product_types import CATEGORY_OF

    weights = [1.0 / (rank + 1) for rank in range(len(offer_ids))]
    records = []
    categories = ["camping", "coffee", "kitchen", "books", "fitness"]
    types = {c: sorted(t for t, of in CATEGORY_OF.items() if of == c) for c in categories}
    buckets, countries = sorted(ORDER_VALUES), ["DE", "FR", "NL", "GB", "IT", "ES", "AT", "other"]
    for n in range(decisions):
        shown = list(dict.fromkeys(rng.choices(offer_ids, weights, k=OFFERS_SHOWN)))
        category = rng.choice(categories)
        context = {"purchase_category": category, "segment": rng.choice(["vip", "new", "x"])}
        context |= {"order_value": rng.choice(buckets), "country": rng.choice(countries)}
        if types[category]:
            context["product_type"] = rng.choice(types[category])
        if rng.random() < 0.2:
            context["gift"] = "yes"
        base: dict[str, Any] = {"retailer_id": "ret_bench", "decision_id": f"d{n}", "arm": "mixed"}
        base["context"] = context
        records.append((f"DECISION#{n}", "decision", {**base, "offer_ids": shown}))
        for kind, rate in (("impression", MIX["impressions"] / 3), ("click", MIX["clicks"] / 3)):
            for offer_id in shown:
                if rng.random() < rate:
                    records.append((f"{kind.upper()}#{n}#{offer_id}", kind, {**base, "offer_id": offer_id}))
        if rng.random() < MIX["conversions"]:
            body = {
                **base,
                "offer_id": shown[0],
                "partner_id": "par_1",
                "payout_minor": 700,
                "currency": "EUR",
            }
            records.append((f"CONVERSION#{n}", "conversion", body))
    return records


def bench_aggregation(decisions: int) -> dict[str, Any]:
    """Write units the aggregator spends under the traffic mix, and the hottest item's write rate."""
    import boto3
    from moto import mock_aws

    from afterglow.services.aggregation import aggregate, stream_records
    from afterglow.store import get_stores
    from afterglow.store.learning import WRITE_SHARDS
    from afterglow_dev.local import moto_transactions
    from afterglow_dev.local.learning_loop import read_stream
    from afterglow_dev.local.resources import create_data_resources
    from afterglow_dev.local.stack import find_template
    from afterglow_dev.local.template import Template

    moto_transactions.install()
    rng = random.Random(11)  # noqa: S311 - synthetic data, not secrets
    offer_ids = [f"off_{i:06d}" for i in range(20_000)]
    with mock_aws():
        names = _resources(create_data_resources, Template(find_template()), boto3)
        stores = get_stores()
        now = datetime.now(UTC)
        traffic = _traffic(offer_ids, decisions, rng)
        for pk, kind, body in traffic:
            stores.ledger.record_once(pk, kind, now, body)
        sent = _metered(stores)
        records = stream_records({"Records": read_stream(names["LedgerTable"])})
        for start in range(0, len(records), STREAM_BATCH):
            aggregate(stores, records[start : start + STREAM_BATCH], now)
        wru, touched = _write_units(stores, sent)
        sizes = stores.learning.item_sizes()
        scanned = sum(sizes)
    learned = len(traffic)
    batches = math.ceil(len(records) / STREAM_BATCH)
    hottest = max(touched.values()) if touched else 0
    records_per_s = PEAK_DECISIONS_PER_S * (1 + MIX["impressions"] + MIX["clicks"] + MIX["conversions"])
    return {
        "aggregated_records": learned,
        "wru_per_ledger_record": wru / learned,
        "wru_per_decision": wru / decisions,
        "max_counter_item_bytes": max(sizes),
        "counter_items": len(sizes),
        # Per STREAM_BATCH records the hottest offer's item is written at most once per chunk; at peak
        # the stream carries records_per_s, spread over WRITE_SHARDS items per offer.
        "hottest_item_writes_per_s_at_peak": hottest / batches * records_per_s / STREAM_BATCH / WRITE_SHARDS,
        "trainer_rru_per_run": scanned / 4096 * 0.5,
    }


def _resources(create: Any, template: Any, boto3: Any) -> dict[str, str]:
    import os

    clients = {name: boto3.client(name) for name in ("dynamodb", "s3", "sqs")}
    names: dict[str, str] = create(template, "bench", clients)
    parameters = {**template.parameter_defaults(), "TokenKeys": os.environ.get("TOKEN_KEYS", "bench:k" * 3)}
    os.environ.update(
        {k: v for k, v in template.environment(names, parameters).items() if not k.startswith("POWERTOOLS_")}
    )
    os.environ["MODEL_PUBLISH_INTERVAL_SECONDS"] = "0"  # as the local stack: learn within seconds
    from afterglow.settings import get_settings
    from afterglow.store import get_stores

    get_settings.cache_clear()
    get_stores.cache_clear()
    return names


def _metered(stores: Any) -> list[dict[str, Any]]:
    """Every TransactWriteItems the learning store sends from now on (its writes, as sent)."""
    sent: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        sent.extend(params.get("TransactItems", []))

    stores.learning._ddb.meta.events.register("provide-client-params.dynamodb.TransactWriteItems", record)
    return sent


def _write_units(stores: Any, writes: list[dict[str, Any]]) -> tuple[float, dict[str, int]]:
    """Write units of these transactional writes, each item at its final size (an upper bound:
    items only grow), and how many times each offer's counter items were written."""
    from afterglow.store.learning import _item_bytes

    ddb = stores.learning._ddb
    sizes: dict[tuple[str, str, str], int] = {}
    wru = 0.0
    touched: dict[str, int] = {}
    for write in writes:
        op = next(iter(write.values()))
        key = op.get("Key") or {name: op["Item"][name] for name in ("pk", "sk")}
        cache_key = (op["TableName"], key["pk"]["S"], key["sk"]["S"])
        if cache_key not in sizes:
            item = ddb.get_item(TableName=op["TableName"], Key=key).get("Item", key)
            sizes[cache_key] = _item_bytes(item)
        wru += 2 * max(1, math.ceil(sizes[cache_key] / 1024))
        if key["pk"]["S"].startswith("ARM#"):
            offer = key["pk"]["S"].rsplit("#", 1)[0]
            touched[offer] = touched.get(offer, 0) + 1
    return wru, touched


def bench_event_to_model_lag() -> dict[str, Any]:
    """From a decision written to the ledger to the published model that counts it, with the
    learning loop running on its local timer in a thread (as `afterglow local` runs it)."""
    import boto3
    from moto import mock_aws

    from afterglow.store import get_stores
    from afterglow_dev.local.learning_loop import LearningLoop
    from afterglow_dev.local.resources import create_data_resources
    from afterglow_dev.local.stack import LEARNING_LOOP_SECONDS, find_template
    from afterglow_dev.local.template import Template

    template = Template(find_template())
    lags = []
    with mock_aws():
        names = _resources(create_data_resources, template, boto3)
        stores = get_stores()
        loop = LearningLoop(template, names)
        loop.start(LEARNING_LOOP_SECONDS)
        try:
            for n in range(3):
                body = {"retailer_id": "r", "offer_ids": [f"off_lag{n}"], "context": {}}
                stores.ledger.record_once(f"DECISION#lag{n}", "decision", datetime.now(UTC), body)
                started = time.perf_counter()
                while not _in_model(stores, f"off_lag{n}") and time.perf_counter() - started < 60:
                    time.sleep(0.05)
                lags.append(time.perf_counter() - started)
        finally:
            loop.stop()
    return {"event_to_model_lag_s": sorted(lags)[1], "learning_loop_every_s": LEARNING_LOOP_SECONDS}


def _in_model(stores: Any, offer_id: str) -> bool:
    pointer = stores.learning.model_pointer()
    if pointer is None:
        return False
    from afterglow.learning.published import model_rows_of

    model = json.loads(gzip.decompress(stores.learning.read_model(pointer["object_key"])))
    return any(row[0] == offer_id for row in model_rows_of(model))


def cost_per_million_orders(figures: dict[str, Any]) -> dict[str, Any]:
    """AWS cost per million orders from the measured figures and PRICES (see the README)."""
    orders = 1_000_000
    requests = orders * (
        1 + 1 + MIX["clicks"] + MIX["conversions"]
    )  # decision, one event batch, clicks, webhooks
    lambda_gb_s = requests * 0.03 * 1.0  # ~30 ms at 1 GB per request, warm
    aggregator_invocations = (
        orders * (1 + MIX["impressions"] + MIX["clicks"] + MIX["conversions"]) / STREAM_BATCH
    )
    request_wru = orders * (
        4  # the decision: ledger record (~1 KB) + exposures, in one transaction
        + 1  # the event batch's impressions (~2 records, 1 WRU each) are one request but two puts
        + MIX["impressions"]
        + 2 * MIX["clicks"]  # click marker + click record
        + 3 * MIX["conversions"]  # claim, conversion, delivery log
    )
    learning_wru = orders * figures["wru_per_decision"]
    dynamodb = (request_wru + learning_wru) / 1e6 * PRICES["dynamodb_per_million_wru"]
    dynamodb += orders * 1.5 / 1e6 * PRICES["dynamodb_per_million_rru"]  # decide's BatchGetItem
    trainer_month = 43_200 * figures["trainer_rru_per_run"] / 1e6 * PRICES["dynamodb_per_million_rru"]
    lambda_cost = (requests + aggregator_invocations) / 1e6 * PRICES["lambda_per_million_requests"]
    lambda_cost += lambda_gb_s * PRICES["lambda_per_gb_second"]
    api = requests / 1e6 * PRICES["http_api_per_million_requests"]
    return {
        "cost_per_million_orders_usd": dynamodb + lambda_cost + api,
        "cost_dynamodb_per_million_orders_usd": dynamodb,
        "cost_lambda_per_million_orders_usd": lambda_cost,
        "cost_api_gateway_per_million_orders_usd": api,
        "cost_trainer_per_month_usd": trainer_month,
    }
