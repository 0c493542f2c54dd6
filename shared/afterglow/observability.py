"""Logger, Metrics and Tracer: created once, imported everywhere."""

from aws_lambda_powertools import Logger, Metrics, Tracer

NAMESPACE = "Afterglow"

logger = Logger()
metrics = Metrics(namespace=NAMESPACE)
tracer = Tracer()
