"""reconcile: the nightly EventBridge job (yesterday), or a manual run over a date range."""

from datetime import date, datetime, timedelta
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ValidationError, model_validator

from afterglow.observability import logger, metrics, tracer
from afterglow.services.reconcile import reconcile_range
from afterglow.store import get_stores


class ReconcileRequest(BaseModel):
    """A manual run: `{"date": "YYYY-MM-DD", "until": "YYYY-MM-DD"?}`; a scheduled event means yesterday."""

    date: date
    until: date | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_schedule(cls, event: Any) -> Any:
        if isinstance(event, dict) and event.get("detail-type") == "Scheduled Event":
            fired = datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
            return {"date": (fired - timedelta(days=1)).date()}
        return event


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
    try:
        summaries = reconcile_range(
            stores.ledger, stores.reports, request.date, request.until or request.date
        )
    except ValueError as error:
        return {"status": "invalid", "errors": [{"msg": str(error)}]}
    metrics.add_metric(name="DaysReconciled", unit="Count", value=len(summaries))
    return {"status": "ok", "days": [summary["date"] for summary in summaries]}
