"""`afterglow`: the command line for operators and developers. `afterglow --help` lists commands."""

import argparse
import contextlib
import json
import signal
import sys
import threading
from datetime import date
from pathlib import Path


def _local(args: argparse.Namespace) -> int:
    from afterglow.local.demo import seed_demo
    from afterglow.local.stack import find_template, start
    from afterglow.services.admin import create_platform_key
    from afterglow.store import get_stores

    stack = start(find_template(), host=args.host, port=args.port, moto_port=args.moto_port)
    catalog = get_stores().catalog
    extra = {"AFTERGLOW_ADMIN_KEY": create_platform_key(catalog)}
    shop = None
    if not args.no_demo:
        from afterglow.local.demo_shop import serve_demo_shop

        shop_env: dict[str, str] = {}  # read per request: filled in once the catalog is seeded
        shop = serve_demo_shop(stack.api_url, shop_env, host=args.host, port=args.demo_port)
        demo = seed_demo(catalog, shop_url=shop.url)
        extra["AFTERGLOW_DEMO_PUBLISHABLE_KEY"] = demo.publishable_key
        extra["AFTERGLOW_DEMO_RETAILER_ID"] = demo.retailer_id
        for name, secret in demo.partner_secrets.items():
            slug = name.upper().replace(" ", "_").replace("&", "AND")
            extra[f"AFTERGLOW_DEMO_PARTNER_{slug}_ID"] = demo.partner_ids[name]
            extra[f"AFTERGLOW_DEMO_PARTNER_{slug}_SECRET"] = secret
    if shop is not None:
        shop_env.update({**stack.environment, **extra})
        extra["AFTERGLOW_DEMO_SHOP_URL"] = shop.url
    env_file = Path(args.env_file)
    stack.write_env_file(env_file, extra)
    print(f"Afterglow local stack is up.\n  API:      {stack.api_url}\n  AWS (moto): {stack.aws_endpoint}")
    if shop is not None:
        print(f"  demo shop: {shop.url}/  (open it in a browser: sample orders, the survey, click-through)")
    print(f"  env file: {env_file}  (in another terminal: set -a; . {env_file}; set +a)")
    if not args.no_demo:
        order = {
            "order_id": "demo-1001",
            "order_value_minor": 24900,
            "currency": "EUR",
            "line_items": [{"sku": "TENT-2P", "category": "camping", "price_minor": 24900}],
            "customer": {"email": "ada@example.com", "country": "DE"},
        }
        print("\nTry a decision for a camping order:\n")
        print(
            f"  curl -s -X POST {stack.api_url}/v1/decisions \\\n"
            f"    -H 'Authorization: Bearer {extra['AFTERGLOW_DEMO_PUBLISHABLE_KEY']}' \\\n"
            f"    -H 'Content-Type: application/json' \\\n"
            f"    -d '{json.dumps(order)}'\n"
        )
    print(f"ready: {stack.api_url}", flush=True)
    if args.exit_after_start:
        if shop is not None:
            shop.shutdown()
            shop.server_close()
        stack.stop()
        return 0
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with contextlib.suppress(KeyboardInterrupt):
        stopped.wait()
    print("\nStopping the local stack.")
    if shop is not None:
        shop.shutdown()
        shop.server_close()
    stack.stop()
    return 0


def _platform_key(_: argparse.Namespace) -> int:
    from afterglow.services.admin import create_platform_key
    from afterglow.store import get_stores

    print(create_platform_key(get_stores().catalog))
    return 0


def _audit(args: argparse.Namespace) -> int:
    from afterglow.errors import AfterglowError
    from afterglow.models import AuditSuppression
    from afterglow.services.admin import load_retailer, suppress_for_category
    from afterglow.services.audit import sample_decisions
    from afterglow.store import get_stores

    if bool(args.irrelevant) != bool(args.after):
        print("afterglow audit: --irrelevant OFFER_ID and --after CATEGORY go together", file=sys.stderr)
        return 2
    stores = get_stores()
    try:
        if args.irrelevant:
            suppression = AuditSuppression(purchase_category=args.after, offer_id=args.irrelevant)
            retailer = suppress_for_category(stores.catalog, args.retailer_id, suppression)
            print(f"{args.irrelevant} is no longer offered after a {args.after} purchase at {retailer.name}")
            return 0
        load_retailer(stores.catalog, args.retailer_id)
    except (AfterglowError, ValueError) as error:
        print(f"afterglow audit: {error}", file=sys.stderr)
        return 1
    sample = sample_decisions(stores.ledger, args.retailer_id, limit=args.limit)
    for item in sample.items:
        bought = ", ".join(item.purchased_categories) or "?"
        shown = "; ".join(f"{o['offer_id']} ({o['category']}) {o['title']}" for o in item.shown)
        print(f"{item.at:%Y-%m-%d %H:%M}  bought {bought}  →  shown {shown}")
    if not sample.items:
        print("no recent decisions with offers")
    return 0


def _reconcile(args: argparse.Namespace) -> int:
    from afterglow.services.monthly import reconcile_month, retailer_shares
    from afterglow.services.reconcile import days_between, reconcile_range
    from afterglow.store import get_stores

    stores = get_stores()
    if args.month:
        try:
            summary = reconcile_month(
                stores.reports, args.month, retailer_shares(stores.catalog), ledger=stores.ledger
            )
        except ValueError as error:
            print(f"afterglow reconcile: {error}", file=sys.stderr)
            return 2
        print(json.dumps(summary, sort_keys=True))
        print(f"invoices and statements written to s3://{stores.reports.bucket}/", file=sys.stderr)
        return 0
    try:
        days_between(args.date, args.until or args.date)
    except ValueError as error:
        print(f"afterglow reconcile: {error}", file=sys.stderr)
        return 2
    summaries = reconcile_range(
        stores.ledger, stores.reports, args.date, args.until or args.date, catalog=stores.catalog
    )
    for summary in summaries:
        print(json.dumps(summary, sort_keys=True))
    print(f"reports written to s3://{stores.reports.bucket}/reports/daily/", file=sys.stderr)
    return 0


def _openapi(args: argparse.Namespace) -> int:
    from afterglow.local.stack import find_template
    from afterglow.local.template import Template
    from afterglow.openapi import DOCUMENT_PATH, merged_openapi, render

    text = render(merged_openapi(Template(find_template())))
    if args.check:
        if DOCUMENT_PATH.read_text() != text:
            print("openapi.json is out of date: run `afterglow openapi --write`", file=sys.stderr)
            return 1
        return 0
    if args.write:
        DOCUMENT_PATH.write_text(text)
        print(f"wrote {DOCUMENT_PATH}")
    else:
        sys.stdout.write(text)
    return 0


def _catalog_generate(args: argparse.Namespace) -> int:
    from afterglow.catalog_generator import write_catalog_file

    written = write_catalog_file(Path(args.out), args.partners, seed=args.seed, offers=args.offers)
    size = f"{written.bytes_written:,} bytes"
    print(f"wrote {written.partners:,} partners and {written.offers:,} offers to {args.out} ({size})")
    return 0


def _progress(phase: str, done: int, total: int) -> None:
    """A one-line progress bar on stderr."""
    width = 30
    filled = width * done // max(total, 1)
    end = "\n" if done >= total else ""
    print(
        f"\r{phase:<10} [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,}", end=end, file=sys.stderr
    )


def _catalog_import(args: argparse.Namespace) -> int:
    from afterglow.services.catalog_import import CatalogFileInvalid, import_catalog
    from afterglow.store import get_stores

    with Path(args.file).open(encoding="utf-8") as lines:
        try:
            report = import_catalog(get_stores().catalog, lines, progress=_progress)
        except CatalogFileInvalid as invalid:
            for error in invalid.errors:
                where = f" ({error.field})" if error.field else ""
                print(f"{args.file}:{error.line}: {error.message}{where}", file=sys.stderr)
            print(f"afterglow catalog import: {invalid}", file=sys.stderr)
            return 1
    print(report.summary())
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from afterglow.simulation import main as simulate

    print(simulate(args.rounds, args.seed, args.png))
    return 0


def _bench(args: argparse.Namespace) -> int:
    from afterglow.local.bench import run, table, write_results

    figures = run(quick=args.quick)
    print(table(figures))
    write_results(figures, Path(args.out))
    print(f"\nwritten to {args.out}")
    return 0


def _load(args: argparse.Namespace) -> int:
    import tempfile

    from afterglow.local.load import LoadSettings, local_stack_process, read_env_file, run_load

    settings = LoadSettings(args.seconds, args.concurrency, args.max_requests)
    with contextlib.ExitStack() as stack:
        if args.env_file:
            env = read_env_file(Path(args.env_file))
        else:
            print("starting the local stack…", file=sys.stderr)
            env = stack.enter_context(
                local_stack_process(Path(stack.enter_context(tempfile.TemporaryDirectory())))
            )
        if args.url:
            env["AFTERGLOW_API_URL"] = args.url
        try:
            report = run_load(env, settings)
        except ValueError as error:
            print(f"afterglow load: {error}", file=sys.stderr)
            return 2
    print(report.table())
    return 0 if report.errors == 0 and report.ledger_matches else 1


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="afterglow", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    local = commands.add_parser("local", help="run the whole stack locally on moto (Ctrl-C stops it)")
    local.add_argument("--host", default="127.0.0.1")
    local.add_argument("--port", type=int, default=8000, help="API port (0 = any free port)")
    local.add_argument("--moto-port", type=int, default=5000, help="moto port (0 = any free port)")
    local.add_argument("--demo-port", type=int, default=8001, help="demo shop port (0 = any free port)")
    local.add_argument("--env-file", default=".afterglow/local.env")
    local.add_argument("--no-demo", action="store_true", help="do not seed the demo catalog")
    local.add_argument("--exit-after-start", action="store_true", help="start, print, stop (smoke test)")
    local.set_defaults(run=_local)

    key = commands.add_parser("platform-key", help="create a platform-scoped secret key (shown once)")
    key.set_defaults(run=_platform_key)

    audit = commands.add_parser(
        "audit",
        help="relevance review: a retailer's recent decisions (bought → shown); mark an offer irrelevant",
    )
    audit.add_argument("retailer_id")
    audit.add_argument("--limit", type=int, default=50, help="decisions to show (default 50)")
    audit.add_argument("--irrelevant", metavar="OFFER_ID", help="stop offering this offer after …")
    audit.add_argument("--after", metavar="CATEGORY", help="… a purchase in this category")
    audit.set_defaults(run=_audit)

    reconcile = commands.add_parser("reconcile", help="reconcile the ledger of a day (or a range) into S3")
    when = reconcile.add_mutually_exclusive_group(required=True)
    when.add_argument("--date", type=date.fromisoformat, help="YYYY-MM-DD (then its month is rolled up)")
    when.add_argument("--month", help="YYYY-MM: only re-roll that month's invoices and statements")
    reconcile.add_argument("--until", type=date.fromisoformat, help="last day of a backfill, inclusive")
    reconcile.set_defaults(run=_reconcile)

    openapi = commands.add_parser("openapi", help="print (or --write/--check) the merged OpenAPI document")
    mode = openapi.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="write shared/afterglow/openapi.json")
    mode.add_argument("--check", action="store_true", help="fail if the committed document is stale")
    openapi.set_defaults(run=_openapi)
    catalog = commands.add_parser("catalog", help="generate or import a partner catalog (JSONL)")
    catalog_commands = catalog.add_subparsers(dest="catalog_command", required=True)
    generate = catalog_commands.add_parser("generate", help="a deterministic synthetic catalog")
    generate.add_argument("--partners", type=int, default=4_600)
    generate.add_argument("--offers", type=int, help="total offers (default: about 4.3 per partner)")
    generate.add_argument("--seed", type=int, default=7)
    generate.add_argument("--out", default="catalog.jsonl")
    generate.set_defaults(run=_catalog_generate)
    load = catalog_commands.add_parser("import", help="validate every line, then import idempotently")
    load.add_argument("file")
    load.set_defaults(run=_catalog_import)

    simulate = commands.add_parser(
        "simulate", help="the learning policy vs random, non-contextual and oracle, on a simulated world"
    )
    simulate.add_argument("--rounds", type=int, default=50_000)
    simulate.add_argument("--seed", type=int, default=1)
    simulate.add_argument("--png", default="bench/learning-curve.png", help="learning-curve PNG path")
    simulate.set_defaults(run=_simulate)

    bench = commands.add_parser("bench", help="measure every performance budget in one run")
    bench.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    bench.add_argument("--out", default="bench/results.json")
    bench.set_defaults(run=_bench)

    load_test = commands.add_parser(
        "load",
        help="a bounded load test on 127.0.0.1: decisions, events, clicks, webhooks; checks the ledger",
    )
    load_test.add_argument("--env-file", help="env file of a running `afterglow local` (default: start one)")
    load_test.add_argument("--url", help="API URL on 127.0.0.1 (default: the env file's AFTERGLOW_API_URL)")
    load_test.add_argument("--seconds", type=float, default=20.0, help="wall-clock bound, at most 60")
    load_test.add_argument("--concurrency", type=int, default=8, help="clients sending at once")
    load_test.add_argument("--max-requests", type=int, default=4_000, help="request bound")
    load_test.set_defaults(run=_load)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
