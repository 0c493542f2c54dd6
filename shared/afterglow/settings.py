"""One settings model, read from environment variables (set by template.yaml or .afterglow/local.env)."""

from functools import lru_cache
from typing import Annotated

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from afterglow import warm


class Settings(BaseSettings):
    """Configuration shared by every function and the CLI."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    catalog_table: Annotated[
        str, Field(description="DynamoDB table with retailers, partners, offers, keys")
    ] = "afterglow-catalog"
    ledger_table: Annotated[str, Field(description="DynamoDB table with the append-only ledger")] = (
        "afterglow-ledger"
    )
    learning_table: Annotated[
        str, Field(description="DynamoDB table with customer exposures and aggregation markers")
    ] = "afterglow-learning"
    reports_bucket: Annotated[str, Field(description="S3 bucket for reconciliation reports")] = (
        "afterglow-reports"
    )
    counters_table: Annotated[
        str, Field(description="DynamoDB table with learning counters, spend and the model pointer")
    ] = "afterglow-counters"
    model_bucket: Annotated[str, Field(description="S3 bucket for published learning models")] = (
        "afterglow-models"
    )
    # "kid:secret,kid:secret": the first key signs, every listed key verifies (rotation).
    # No default on purpose: a deployment must never sign with a key that is in the source code.
    token_keys: Annotated[str, Field(description="Tracking-token HMAC keys, first one active")] = ""
    token_ttl_seconds: Annotated[int, Field(ge=60, description="Lifetime of a tracking token")] = (
        7 * 24 * 3600
    )
    ledger_shards: Annotated[int, Field(ge=1, le=256, description="Write shards per ledger day")] = 16
    catalog_version_check_seconds: Annotated[
        float, Field(ge=0, description="How often a warm function checks the catalog version (0 = every use)")
    ] = 0
    decision_deadline_ms: Annotated[
        int, Field(ge=10, le=10_000, description="Past this, a decision returns no offers (degraded)")
    ] = 800
    rate_limit_per_ip_per_s: Annotated[
        float, Field(gt=0, description="Storefront requests per second per client address, per container")
    ] = 20
    rate_limit_per_key_per_s: Annotated[
        float, Field(gt=0, description="Storefront requests per second per publishable key, per container")
    ] = 500
    trace_sample_rate: Annotated[
        float, Field(ge=0, le=1, description="Share of decisions that keep a trace of their reasoning")
    ] = 0.01
    evaluation_log_share: Annotated[
        float,
        Field(
            ge=0,
            le=1,
            description="Share of decisions that log their propensities and shortlist for `afterglow "
            "evaluate` (~2 KB more in the decision's record, ~0.5 ms of Monte Carlo draws each)",
        ),
    ] = 0.1
    model_publish_interval_seconds: Annotated[
        float,
        Field(
            ge=0,
            description="The trainer publishes a changed learning model at most this often (each warm "
            "decide reloads it once per publish)",
        ),
    ] = 60
    public_api_url: Annotated[str, Field(description="Base URL of the HTTP API, for click links")] = ""


@warm.keep_cached("settings")
@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings read once per process (Lambda containers keep them warm)."""
    return Settings()
