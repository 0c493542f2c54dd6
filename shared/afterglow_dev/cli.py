"""`afterglow` for developers: the operator commands plus the local stack, OpenAPI writer, catalog
generator, simulator, bench and load test. `afterglow --help` lists them all."""

import argparse
import contextlib
import json
import signal
import sys
import threading
from pathlib import Path

from afterglow.cli import build_parser
from afterglow_dev.local.workers import DEFAULT_WORKERS, MAX_WORKERS


def _local(args: argparse.Namespace) -> int:
    from afterglow.services.keys import create_platform_key
    from afterglow.store import get_stores
    from afterglow_dev.local.demo import seed_demo
    from afterglow_dev.local.stack import find_template, start

    stack = start(
        find_template(), host=args.host, port=args.port, moto_port=args.moto_port, workers=args.workers
    )
    stores = get_stores()
    extra = {"AFTERGLOW_ADMIN_KEY": create_platform_key(stores)}
    shop = None
    if not args.no_demo:
        from afterglow_dev.local.demo_shop import serve_demo_shop

        shop_env: dict[str, str] = {}  # read per request: filled in once the catalog is seeded
        shop = serve_demo_shop(stack.api_url, shop_env, host=args.host, port=args.demo_port)
        demo = seed_demo(stores, shop_url=shop.url)
        extra["AFTERGLOW_DEMO_PUBLISHABLE_KEY"] = demo.publishable_key
        extra["AFTERGLOW_DEMO_RETAILER_ID"] = demo.retailer_id
        for name, secret in demo.partner_secrets.items():
            slug = name.upper().replace(" ", "_").replace("&", "AND")
            extra[f"AFTERGLOW_DEMO_PARTNER_{slug}_ID"] = demo.partner_ids[name]
            extra[f"AFTERGLOW_DEMO_PARTNER_{slug}_SECRET"] = secret
        if args.demo_orders:
            from afterglow_dev.local.demo_traffic import play_demo_orders

            played = play_demo_orders(stores, demo, stack.api_url, args.demo_orders)
    if shop is not None:
        shop_env.update({**stack.environment, **extra})
        extra["AFTERGLOW_DEMO_SHOP_URL"] = shop.url
    env_file = Path(args.env_file)
    stack.write_env_file(env_file, extra)
    print(f"Afterglow local stack is up.\n  API:      {stack.api_url}\n  AWS (moto): {stack.aws_endpoint}")
    print(f"  workers:  {args.workers} (warm Lambda containers; one log line per request below)")
    if shop is not None:
        print(f"  demo shop: {shop.url}/  (open it in a browser: sample orders, the survey, click-through)")
    print(f"  env file: {env_file}  (in another terminal: set -a; . {env_file}; set +a)")
    if not args.no_demo and args.demo_orders:
        print(
            f"  demo trade: {played.orders} orders decided ({played.held_out} in the 10% holdout), "
            f"{played.impressions} impressions, {played.clicks} clicks, {played.conversions} sign-ups, "
            f"{played.answers} NPS answers, {played.add_ons} add-ons ({played.returns} sent back)"
            " — step 4 of the README's tour reads their lift"
        )
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


def _openapi(args: argparse.Namespace) -> int:
    from afterglow_dev.local.stack import find_template
    from afterglow_dev.local.template import Template
    from afterglow_dev.openapi import DOCUMENT_PATH, merged_openapi, render

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
    from afterglow_dev.catalog_generator import write_catalog_file

    written = write_catalog_file(Path(args.out), args.partners, seed=args.seed, offers=args.offers)
    size = f"{written.bytes_written:,} bytes"
    print(f"wrote {written.partners:,} partners and {written.offers:,} offers to {args.out} ({size})")
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from afterglow_dev.simulation import HELD_OUT_SEEDS, TUNING_SEEDS
    from afterglow_dev.simulation import main as simulate

    seeds = TUNING_SEEDS if args.worlds == "tuning" else HELD_OUT_SEEDS
    if args.seeds:
        seeds = tuple(int(seed) for seed in args.seeds.split(","))
    text = simulate(
        seeds=seeds,
        quick=args.quick,
        png_path=args.png,
        jobs=args.jobs,
        details=args.details,
        repeats=args.repeats,
    )
    print(text)
    return 0


def _positive(text: str) -> int:
    number = int(text)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive whole number")
    return number


def _bench(args: argparse.Namespace) -> int:
    from afterglow_dev.local.bench import run, table, write_results

    figures = run(quick=args.quick)
    print(table(figures))
    write_results(figures, Path(args.out))
    print(f"\nwritten to {args.out}")
    return 0


def _load(args: argparse.Namespace) -> int:
    import tempfile

    from afterglow_dev.local.load import LoadSettings, local_stack_process, read_env_file, run_load

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
    root, commands, catalog_commands = build_parser()
    root.description = __doc__

    local = commands.add_parser("local", help="run the whole stack locally on moto (Ctrl-C stops it)")
    local.add_argument("--host", default="127.0.0.1")
    local.add_argument("--port", type=int, default=8000, help="API port (0 = any free port)")
    local.add_argument("--moto-port", type=int, default=5000, help="moto port (0 = any free port)")
    local.add_argument("--demo-port", type=int, default=8001, help="demo shop port (0 = any free port)")
    local.add_argument(
        "--workers",
        type=int,
        default=DEFAULT_WORKERS,
        help=f"worker processes serving requests in parallel, each a warm Lambda container "
        f"(1–{MAX_WORKERS}, default {DEFAULT_WORKERS})",
    )
    local.add_argument("--env-file", default=".afterglow/local.env")
    local.add_argument("--no-demo", action="store_true", help="do not seed the demo catalog")
    local.add_argument(
        "--demo-orders",
        type=int,
        default=200,
        choices=range(0, 5_001),
        metavar="N",
        help="orders of the demo shop played through the services at start (default 200, at most 5000)",
    )
    local.add_argument("--exit-after-start", action="store_true", help="start, print, stop (smoke test)")
    local.set_defaults(run=_local)

    openapi = commands.add_parser("openapi", help="print (or --write/--check) the merged OpenAPI document")
    mode = openapi.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="write shared/afterglow/openapi.json")
    mode.add_argument("--check", action="store_true", help="fail if the committed document is stale")
    openapi.set_defaults(run=_openapi)

    generate = catalog_commands.add_parser("generate", help="a deterministic synthetic catalog")
    generate.add_argument("--partners", type=int, default=4_600)
    generate.add_argument("--offers", type=int, help="total offers (default: about 4.3 per partner)")
    generate.add_argument("--seed", type=int, default=7)
    generate.add_argument("--out", default="catalog.jsonl")
    generate.set_defaults(run=_catalog_generate)

    simulate = commands.add_parser(
        "simulate",
        help="the learning policy vs baselines over a family of simulated worlds (share of the oracle)",
    )
    simulate.add_argument(
        "--worlds",
        choices=("held-out", "tuning"),
        default="held-out",
        help="the world seeds to report on (the policy was tuned on the others)",
    )
    simulate.add_argument("--seeds", help="comma-separated world seeds instead (e.g. 1,2,3)")
    simulate.add_argument("--quick", action="store_true", help="two shrunk worlds: a smoke run")
    simulate.add_argument("--jobs", type=int, default=2, help="worlds simulated in parallel")
    simulate.add_argument("--details", action="store_true", help="one line per world: knobs and scores")
    simulate.add_argument(
        "--repeats",
        type=_positive,
        default=1,
        metavar="N",
        help="run each world N times with other policy seeds and score each policy by its mean share "
        "(one run's share is noisy in sparse worlds; default 1)",
    )
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
