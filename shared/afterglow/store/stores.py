"""The set of stores a function uses, built once per process from settings."""

from dataclasses import dataclass
from functools import lru_cache

from afterglow import warm
from afterglow.settings import get_settings
from afterglow.store.catalog import CatalogStore
from afterglow.store.decisions import DecisionStore
from afterglow.store.dynamo import client
from afterglow.store.learning import LearningStore
from afterglow.store.ledger import LedgerStore
from afterglow.store.reports import ReportStore


@dataclass(frozen=True)
class Stores:
    catalog: CatalogStore
    ledger: LedgerStore
    learning: LearningStore
    decisions: DecisionStore
    reports: ReportStore


@warm.keep_cached("stores")
@lru_cache(maxsize=1)
def get_stores() -> Stores:
    """Stores bound to the tables and bucket named in settings (one client per service)."""
    settings = get_settings()
    dynamodb = client("dynamodb")
    ledger = LedgerStore(dynamodb, settings.ledger_table, shards=settings.ledger_shards)
    # The storefront's decision path gives up within its deadline: a client of its own.
    hot_path = client("dynamodb", deadline_s=settings.decision_deadline_ms / 1000)
    s3 = client("s3")
    return Stores(
        catalog=CatalogStore(dynamodb, settings.catalog_table),
        ledger=ledger,
        learning=LearningStore(
            dynamodb,
            counters_table=settings.counters_table,
            markers_table=settings.learning_table,
            s3=s3,
            model_bucket=settings.model_bucket,
        ),
        decisions=DecisionStore(
            hot_path,
            catalog_table=settings.catalog_table,
            learning_table=settings.learning_table,
            counters_table=settings.counters_table,
            ledger=LedgerStore(hot_path, settings.ledger_table, shards=settings.ledger_shards),
        ),
        reports=ReportStore(s3, settings.reports_bucket),
    )
