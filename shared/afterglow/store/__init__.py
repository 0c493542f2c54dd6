"""The only code that talks to DynamoDB and S3."""

from afterglow.store.catalog import CatalogStore
from afterglow.store.learning import LearningStore
from afterglow.store.ledger import LedgerStore
from afterglow.store.reports import ReportStore
from afterglow.store.stores import Stores, get_stores

__all__ = ["CatalogStore", "LearningStore", "LedgerStore", "ReportStore", "Stores", "get_stores"]
