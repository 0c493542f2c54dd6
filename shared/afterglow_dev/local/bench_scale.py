"""Mission scale, measured (`make bench`): the local stack holding the 4,600-partner catalog
(`afterglow catalog generate --partners 4600`, imported with `afterglow catalog import` against
the stack) and ≥ 100,000 ledger records, under a bounded load of 60 s at concurrency 8 — requests
and decisions per second, p50/p99 per route, degraded decisions and errors.

`prepare` is shared with the end-to-end test that runs a short version (a small catalog, a few
thousand records, a few seconds).
"""

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from afterglow_dev.local.load import LoadReport, LoadSettings, local_stack_process, read_env_file, run_load

MISSION_PARTNERS = 4_600
MISSION_LEDGER_RECORDS = 100_000
SETTLE_S = 20.0  # the learning loop folds the seeded backlog before the measured load (bounded)


def _aws(env: Mapping[str, str]) -> Any:
    import boto3

    return boto3.client(
        "dynamodb",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env.get("AWS_DEFAULT_REGION", "us-east-1"),
        aws_access_key_id=env.get("AWS_ACCESS_KEY_ID", "local"),
        aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY", "local"),
    )


def import_generated_catalog(env: Mapping[str, str], partners: int, workdir: Path) -> dict[str, float]:
    """`afterglow catalog generate --partners N`, then `afterglow catalog import` with the stack's
    env file (as a developer runs them, each in its own process)."""
    catalog_file = workdir / f"catalog-{partners}.jsonl"
    stack_env = {**os.environ, **read_env_file(Path(env["ENV_FILE"]))}
    cli = [sys.executable, "-m", "afterglow_dev.cli", "catalog"]
    generate = [*cli, "generate", "--partners", str(partners), "--out", str(catalog_file)]
    subprocess.run(generate, env=stack_env, check=True, capture_output=True)  # noqa: S603
    started = time.perf_counter()
    imported = subprocess.run(  # noqa: S603 - our own interpreter running our own CLI
        [*cli, "import", str(catalog_file)], env=stack_env, capture_output=True, text=True
    )
    if imported.returncode != 0:
        raise RuntimeError(f"catalog import failed:\n{imported.stdout[-2000:]}{imported.stderr[-2000:]}")
    return {"catalog_import_s": time.perf_counter() - started}


def seed_demo_history(env: Mapping[str, str], records: int) -> dict[str, float]:
    """≥ `records` ledger records of the demo retailer's past 30 days, on its own offers."""
    from afterglow.settings import Settings
    from afterglow.store.catalog import CatalogStore
    from afterglow.store.ledger import LedgerStore
    from afterglow_dev.local.ledger_seed import SeedOffer, seed_ledger

    ddb = _aws(env)
    retailer_id = env["AFTERGLOW_DEMO_RETAILER_ID"]
    demo_partners = {
        value
        for key, value in env.items()
        if key.startswith("AFTERGLOW_DEMO_PARTNER_") and key.endswith("_ID")
    }
    catalog = CatalogStore(ddb, env["CATALOG_TABLE"]).all_of("OFFER")
    offers = [
        SeedOffer(str(o["offer_id"]), str(o["partner_id"]), str(o["creative"]["title"]))
        for o in catalog
        if o["partner_id"] in demo_partners
    ]
    shards = int(env.get("LEDGER_SHARDS") or Settings.model_fields["ledger_shards"].default)
    ledger = LedgerStore(ddb, env["LEDGER_TABLE"], shards=shards)
    started = time.perf_counter()
    written = seed_ledger(ddb, ledger, env["LEDGER_TABLE"], retailer_id, offers, records)
    seconds = time.perf_counter() - started
    items = ddb.describe_table(TableName=env["LEDGER_TABLE"])["Table"]["ItemCount"]
    return {
        "catalog_offers": len(catalog),
        "ledger_records_seeded": sum(written.values()),
        "ledger_seed_s": seconds,
        "ledger_items": items,
    }


def prepare(env: Mapping[str, str], *, partners: int, records: int, workdir: Path) -> dict[str, float]:
    """The generated catalog imported and the ledger seeded; what it took."""
    return {**import_generated_catalog(env, partners, workdir), **seed_demo_history(env, records)}


def scale_figures(report: LoadReport, prefix: str = "scale") -> dict[str, float]:
    """A load report's figures under `prefix`, with decisions per second and degraded decisions."""
    figures = {key.replace("load_", f"{prefix}_", 1): value for key, value in report.figures().items()}
    figures[f"{prefix}_decisions_per_s"] = report.requests["decision"] / report.seconds
    figures[f"{prefix}_degraded_decisions"] = report.outcomes["decision_degraded"]
    return figures


def bench_mission_scale(
    seconds: float = 60.0,
    concurrency: int = 8,
    partners: int = MISSION_PARTNERS,
    records: int = MISSION_LEDGER_RECORDS,
) -> dict[str, Any]:
    """The whole mission-scale run (several minutes: most of it importing and seeding)."""
    with tempfile.TemporaryDirectory() as workdir, local_stack_process(Path(workdir)) as env:
        prepared = prepare(env, partners=partners, records=records, workdir=Path(workdir))
        time.sleep(SETTLE_S)
        report = run_load(env, LoadSettings(seconds=seconds, concurrency=concurrency, max_requests=1_000_000))
    return {
        "scale_catalog_partners": partners,
        "scale_catalog_offers": prepared["catalog_offers"],
        "scale_ledger_records_seeded": prepared["ledger_records_seeded"],
        "scale_ledger_items_before": prepared["ledger_items"],
        "scale_catalog_import_s": prepared["catalog_import_s"],
        "scale_ledger_seed_s": prepared["ledger_seed_s"],
        **scale_figures(report),
    }
