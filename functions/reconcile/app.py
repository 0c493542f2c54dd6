"""reconcile: the nightly EventBridge job (yesterday), or a manual run over a date range or a month.

Events: the schedule's `Scheduled Event` (reconcile yesterday, then roll up its month to date),
`{"date": "YYYY-MM-DD", "until": "YYYY-MM-DD"?}` (a backfill, then each month it touches), or
`{"month": "YYYY-MM"}` (only re-roll a month's invoices and statements from its reconciled days).
The nightly state machine fans a day out instead: `{"step": "plan", "date"?}` (which day, which
shards; yesterday by default), `{"step": "shard", "date", "shard"}` per shard in parallel, then
`{"step": "merge", "date"}` (the day's reports from the shards' partials, then its month).
A bad request answers `{"status": "invalid"}`; any other failure raises, so the scheduler retries
and finally sends the event to the dead-letter queue.
"""

import datetime as dt
import re
from typing import Any, Literal

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ValidationError, field_validator, model_validator

from afterglow.observability import logger, metrics, tracer
from afterglow.services.monthly import reconcile_month, retailer_shares
from afterglow.services.reconcile import (
    days_between,
    reconcile_day_from_partials,
    reconcile_range,
    reconcile_shard,
    report_names,
)
from afterglow.store import Stores, get_stores

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class ReconcileRequest(BaseModel):
    """A manual run: a date (and optional `until`) or a month; a scheduled event means yesterday."""

    date: dt.date | None = None
    until: dt.date | None = None
    month: str | None = None
    step: Literal["plan", "shard", "merge"] | None = None
    shard: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_schedule(cls, event: Any) -> Any:
        if isinstance(event, dict) and event.get("detail-type") == "Scheduled Event":
            fired = dt.datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
            return {"date": (fired - dt.timedelta(days=1)).date()}
        return event

    @field_validator("month")
    @classmethod
    def _month_format(cls, month: str | None) -> str | None:
        if month is not None and not _MONTH.match(month):
            raise ValueError("month must be YYYY-MM")
        return month

    @model_validator(mode="after")
    def _one_of_date_or_month(self) -> "ReconcileRequest":
        if self.step is not None:
            if self.step != "plan" and self.date is None:
                raise ValueError(f"the {self.step} step needs a date")
            if (self.step == "shard") != (self.shard is not None):
                raise ValueError("shard goes with the shard step, and only with it")
            return self
        if (self.date is None) == (self.month is None):
            raise ValueError("give either date (with an optional until) or month")
        if self.until is not None and self.date is None:
            raise ValueError("until needs a date")
        return self


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        request = ReconcileRequest.model_validate(event)
    except ValidationError as error:
        # A bad manual invocation: say so instead of retrying into the dead-letter queue.
        return {"status": "invalid", "errors": error.errors(include_url=False, include_context=False)}
    stores = get_stores()
    if request.step is not None:
        return _fan_out_step(request, stores)
    if request.month is not None:
        reconcile_month(stores.reports, request.month, retailer_shares(stores.catalog), ledger=stores.ledger)
        metrics.add_metric(name="MonthsRolledUp", unit="Count", value=1)
        return {"status": "ok", "months": [request.month]}
    assert request.date is not None
    first, last = request.date, request.until or request.date
    try:
        days_between(first, last)
    except ValueError as error:
        return {"status": "invalid", "errors": [{"msg": str(error)}]}
    summaries = reconcile_range(stores.ledger, stores.reports, first, last, catalog=stores.catalog)
    metrics.add_metric(name="DaysReconciled", unit="Count", value=len(summaries))
    return {"status": "ok", "days": [summary["date"] for summary in summaries]}


def _fan_out_step(request: ReconcileRequest, stores: Stores) -> dict[str, Any]:
    day = request.date or dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    if request.step == "plan":
        return {"status": "ok", "date": day.isoformat(), "shards": list(range(stores.ledger.shards))}
    if request.step == "shard":
        assert request.shard is not None
        try:
            return {"status": "ok", **reconcile_shard(stores.ledger, stores.reports, day, request.shard)}
        except ValueError as error:
            return {"status": "invalid", "errors": [{"msg": str(error)}]}
    summary = reconcile_day_from_partials(stores.ledger, stores.reports, day, report_names(stores.catalog))
    reconcile_month(
        stores.reports,
        day.strftime("%Y-%m"),
        retailer_shares(stores.catalog),
        ledger=stores.ledger,
        reconciled_now=[day],
    )
    metrics.add_metric(name="DaysReconciled", unit="Count", value=1)
    return {"status": "ok", "days": [summary["date"]]}
