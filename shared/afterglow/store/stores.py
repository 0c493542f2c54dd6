"""The set of stores a function uses, built once per process from settings."""

from dataclasses import dataclass
from functools import lru_cache

from afterglow.settings import get_settings
from afterglow.store.catalog import CatalogStore
from afterglow.store.dynamo import client
from afterglow.store.learning import LearningStore
from afterglow.store.ledger import LedgerStore
from afterglow.store.reports import ReportStore


@dataclass(frozen=True)
class Stores:
    catalog: CatalogStore
    ledger: LedgerStore
    learning: LearningStore
    reports: ReportStore


@lru_cache(maxsize=1)
def get_stores() -> Stores:
    """Stores bound to the tables and bucket named in settings (one client per service)."""
    settings = get_settings()
    dynamodb = client("dynamodb")
    return Stores(
        catalog=CatalogStore(dynamodb, settings.catalog_table),
        ledger=LedgerStore(dynamodb, settings.ledger_table, shards=settings.ledger_shards),
        learning=LearningStore(dynamodb, settings.learning_table),
        reports=ReportStore(client("s3"), settings.reports_bucket),
    )
