"""`afterglow local`: moto server + data resources + API gateway, all from template.yaml."""

import os
import secrets
from dataclasses import dataclass
from http.server import HTTPServer
from pathlib import Path

from afterglow_dev.local.gateway import LocalGateway, serve, start_serving
from afterglow_dev.local.learning_loop import LearningLoopProcess
from afterglow_dev.local.moto_server import SerializedMotoServer
from afterglow_dev.local.resources import create_data_resources
from afterglow_dev.local.template import Template
from afterglow_dev.local.workers import DEFAULT_WORKERS, MAX_WORKERS, WorkerPool

REGION = "us-east-1"
STACK = "afterglow-local"
LEARNING_LOOP_SECONDS = 2.0


@dataclass
class LocalStack:
    api_url: str
    aws_endpoint: str
    environment: dict[str, str]
    gateway: LocalGateway
    http_server: HTTPServer
    workers: WorkerPool
    moto_server: SerializedMotoServer
    learning: LearningLoopProcess

    def stop(self) -> None:
        """Stop everything this stack started: no new requests, then the learning loop, the
        workers (each finishes its invocation first) and moto."""
        self.http_server.shutdown()
        self.http_server.server_close()
        self.learning.stop()
        self.workers.stop()
        self.moto_server.stop()

    def write_env_file(self, path: Path, extra: dict[str, str]) -> None:
        """Write `KEY=value` lines that point the CLI and boto3 at this stack (`set -a; . file`)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [f"{key}={value}" for key, value in sorted({**self.environment, **extra}.items())]
        path.write_text("\n".join(lines) + "\n")
        path.chmod(0o600)


def find_template(start: Path | None = None) -> Path:
    """template.yaml in this directory or the nearest parent."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if (directory / "template.yaml").is_file():
            return directory / "template.yaml"
    raise FileNotFoundError("template.yaml not found here or in any parent directory")


def start(
    template_path: Path,
    host: str = "127.0.0.1",
    port: int = 8000,
    moto_port: int = 5000,
    workers: int = DEFAULT_WORKERS,
) -> LocalStack:
    """Start moto, create the template's resources, point this process at them, start `workers`
    warm workers and serve the API."""
    import logging

    import boto3

    from afterglow_dev.local import moto_speedups, moto_transactions

    if not 1 <= workers <= MAX_WORKERS:
        raise ValueError(f"workers must be between 1 and {MAX_WORKERS}")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto logs every request otherwise
    moto_transactions.install()  # transactions at the cost of their items, not of whole tables
    moto_speedups.install()  # DynamoDB answers written as the JSON they already are
    # One request at a time, as DynamoDB applies each conditional write atomically: requests now
    # arrive from several workers at once.
    moto = SerializedMotoServer(host, moto_port, freeze_long_lived=True)
    moto.start()
    moto_host, bound_moto_port = moto.get_host_and_port()  # port 0 picks a free one
    endpoint = f"http://{moto_host}:{bound_moto_port}"
    aws_env = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }
    os.environ.update(aws_env)
    template = Template(template_path)
    session = boto3.session.Session()
    clients = {name: session.client(name) for name in ("dynamodb", "s3", "sqs")}
    names = create_data_resources(template, STACK, clients)
    parameters = {
        **template.parameter_defaults(),
        "TokenKeys": f"local:{secrets.token_urlsafe(32)}",
        "IpRateLimit": "1000",  # every local client is 127.0.0.1
    }
    function_env = template.environment(names, parameters)
    function_env["MODEL_PUBLISH_INTERVAL_SECONDS"] = "0"  # locally, learn within seconds
    os.environ.update(function_env)

    from afterglow.settings import get_settings
    from afterglow.store import get_stores

    get_settings.cache_clear()
    get_stores.cache_clear()
    pool = WorkerPool(template_path, workers)
    gateway = LocalGateway(template, pool)
    server = serve(gateway, host, port)  # bound now: the port is known before any worker starts
    bound_host, bound_port = server.server_address[:2]
    api_url = f"http://{bound_host!s}:{bound_port}"
    # Click links point at this gateway (in AWS, the PublicApiUrl parameter or the API's URL).
    function_env["PUBLIC_API_URL"] = os.environ["PUBLIC_API_URL"] = api_url
    get_settings.cache_clear()
    environment = {**aws_env, **function_env, "AFTERGLOW_API_URL": api_url}
    try:
        pool.start({**os.environ, **environment})  # each worker: this process's environment
    except BaseException:
        server.server_close()
        moto.stop()
        raise
    start_serving(server)
    # The ledger's stream → aggregator, and the trainer, on a short timer (AWS: seconds to a minute).
    learning = LearningLoopProcess(template_path, names, {**os.environ, **environment})
    learning.start(LEARNING_LOOP_SECONDS)
    return LocalStack(api_url, endpoint, environment, gateway, server, pool, moto, learning)
