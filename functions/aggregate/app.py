"""aggregate: the ledger table's stream → learning counters, each ledger record counted once.

Triggered by DynamoDB Streams (INSERTs of decisions, impressions, engagements, clicks and
conversions). Returns the sequence number to retry from (ReportBatchItemFailures) when a chunk
could not be applied; what keeps failing goes to the dead-letter queue.
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from afterglow.observability import logger, metrics, tracer
from afterglow.services.aggregation import aggregate, stream_records
from afterglow.store import get_stores


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    failed = aggregate(get_stores(), stream_records(event))
    return {"batchItemFailures": [{"itemIdentifier": str(sequence)} for sequence in failed]}
