"""train: every minute, the aggregated counters published as the learning model decide loads."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from afterglow.observability import logger, metrics, tracer
from afterglow.services.training import train
from afterglow.store import get_stores


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = train(get_stores())
    return {"status": "ok", "version": result.version, "published": result.published, "rows": result.rows}
