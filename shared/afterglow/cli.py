"""`afterglow`: the operator command line (platform key, audit, reconcile, report, evaluate, catalog
import).

Installed for development, the `afterglow` command is `afterglow_dev.cli`, which adds the developer
commands (local stack, OpenAPI, catalog generator, simulator, bench, load test) to these.
"""

import argparse
import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any


def _platform_key(_: argparse.Namespace) -> int:
    from afterglow.services.keys import create_platform_key
    from afterglow.store import get_stores

    print(create_platform_key(get_stores()))
    return 0


def _audit(args: argparse.Namespace) -> int:
    from afterglow.errors import AfterglowError
    from afterglow.models import AuditSuppression
    from afterglow.services.audit import sample_decisions
    from afterglow.services.retailers import suppress_for_category
    from afterglow.store import get_stores

    if args.sample:
        return _audit_sample(args)
    if bool(args.irrelevant) != bool(args.after):
        print("afterglow audit: --irrelevant OFFER_ID and --after CATEGORY go together", file=sys.stderr)
        return 2
    if not args.retailer_id:
        print("afterglow audit: name a retailer (or ask for --sample)", file=sys.stderr)
        return 2
    stores = get_stores()
    try:
        if args.irrelevant:
            suppression = AuditSuppression(purchase_category=args.after, offer_id=args.irrelevant)
            retailer = suppress_for_category(stores, args.retailer_id, suppression)
            print(f"{args.irrelevant} is no longer offered after a {args.after} purchase at {retailer.name}")
            return 0
        sample = sample_decisions(stores, args.retailer_id, limit=args.limit)
    except (AfterglowError, ValueError) as error:
        print(f"afterglow audit: {error}", file=sys.stderr)
        return 1
    for item in sample.items:
        bought = ", ".join(item.purchased_categories) or "?"
        shown = "; ".join(f"{o['offer_id']} ({o['category']}) {o['title']}" for o in item.shown)
        print(f"{item.at:%Y-%m-%d %H:%M}  bought {bought}  →  shown {shown}")
    if not sample.items:
        print("no recent decisions with offers")
    return 0


def _audit_sample(args: argparse.Namespace) -> int:
    """Thirty sample orders and the slate each gets from the current catalog (or a catalog file)."""
    from afterglow.errors import AfterglowError
    from afterglow.services.relevance_audit import (
        audit_retailer,
        audit_sample,
        index_from_catalog_lines,
        render,
    )

    if args.catalog:
        with Path(args.catalog).open(encoding="utf-8") as lines:
            index = index_from_catalog_lines(lines)
        retailer = audit_retailer()
        policy = None
    else:
        from afterglow.services.catalog_cache import catalog_cache
        from afterglow.services.catalog_entities import load_retailer
        from afterglow.services.ranking import policy_cache
        from afterglow.store import get_stores

        stores = get_stores()
        try:
            index = catalog_cache.get(stores.catalog)
            retailer = (
                load_retailer(stores.catalog, args.retailer_id) if args.retailer_id else audit_retailer()
            )
            # The slates the learned policy would rank today, each order's draws seeded by its number
            policy = policy_cache.get(stores.learning, index, stores.learning.model_pointer())
        except AfterglowError as error:
            print(f"afterglow audit: {error}", file=sys.stderr)
            return 1
    print(render(audit_sample(index, retailer, policy=policy)))
    return 0


def _reconcile(args: argparse.Namespace) -> int:
    from afterglow.services.monthly import reconcile_month
    from afterglow.services.reconcile import days_between, reconcile_range
    from afterglow.store import get_stores

    stores = get_stores()
    if args.month:
        try:
            summary = reconcile_month(stores, args.month)
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
    summaries = reconcile_range(stores, args.date, args.until or args.date)
    for summary in summaries:
        print(json.dumps(summary, sort_keys=True))
    print(f"reports written to s3://{stores.reports.bucket}/reports/daily/", file=sys.stderr)
    return 0


def _report(args: argparse.Namespace) -> int:
    from afterglow.services.reconcile import daily_prefix, retailer_page_key
    from afterglow.store import get_stores

    day = args.date or datetime.now(UTC).date()
    key = retailer_page_key(day, args.retailer) if args.retailer else daily_prefix(day) + "report.html"
    html = get_stores().reports.get(key)
    if html is None:
        whose = f" of {args.retailer}" if args.retailer else ""
        print(
            f"afterglow report: no report{whose} for {day} yet (run `afterglow reconcile --date {day}`)",
            file=sys.stderr,
        )
        return 1
    name = (
        f"report-{args.retailer}-{day.isoformat()}.html"
        if args.retailer
        else f"report-{day.isoformat()}.html"
    )
    out = Path(args.out or name)
    out.write_bytes(html)
    print(f"wrote {out} (s3://{get_stores().reports.bucket}/{key}); open it in a browser")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from afterglow.services.evaluation import POLICIES, evaluate_retailer, report_table
    from afterglow.store import get_stores

    if args.max_decisions < 1 or args.outcome_days < 0:
        print("afterglow evaluate: --max-decisions must be ≥ 1 and --outcome-days ≥ 0", file=sys.stderr)
        return 2
    try:
        report = evaluate_retailer(
            get_stores(),
            args.retailer,
            args.first,
            args.until or args.first,
            args.policy or [name for name in POLICIES if name != "logged"],
            outcome_days=args.outcome_days,
            max_decisions=args.max_decisions,
        )
    except ValueError as error:
        print(f"afterglow evaluate: {error}", file=sys.stderr)
        return 2
    print(json.dumps(report.as_json(), sort_keys=True) if args.json else report_table(report))
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
            report = import_catalog(get_stores(), lines, progress=_progress)
        except CatalogFileInvalid as invalid:
            for error in invalid.errors:
                where = f" ({error.field})" if error.field else ""
                print(f"{args.file}:{error.line}: {error.message}{where}", file=sys.stderr)
            print(f"afterglow catalog import: {invalid}", file=sys.stderr)
            return 1
    print(report.summary())
    return 0


def build_parser() -> tuple[argparse.ArgumentParser, Any, Any]:
    """The operator commands; returns the parser, its commands and its `catalog` sub-commands so
    the developer command line (`afterglow_dev.cli`) can add its own to the same tree."""
    root = argparse.ArgumentParser(prog="afterglow", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    key = commands.add_parser("platform-key", help="create a platform-scoped secret key (shown once)")
    key.set_defaults(run=_platform_key)

    audit = commands.add_parser(
        "audit",
        help="relevance review: a retailer's recent decisions (bought → shown); mark an offer irrelevant",
    )
    audit.add_argument(
        "retailer_id", nargs="?", help="the retailer (with --sample: whose rules; default none)"
    )
    audit.add_argument(
        "--sample",
        action="store_true",
        help="30 realistic orders and the slate each gets from the current catalog, and why",
    )
    audit.add_argument("--catalog", metavar="FILE", help="with --sample: a catalog JSONL file instead")
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

    report = commands.add_parser("report", help="save a day's HTML report from the bucket to a file")
    report.add_argument("--date", type=date.fromisoformat, help="YYYY-MM-DD (default: today, UTC)")
    report.add_argument(
        "--retailer", metavar="RETAILER_ID", help="that retailer's own page (its figures only)"
    )
    report.add_argument("--out", help="file to write (default: report-[RETAILER_ID-]YYYY-MM-DD.html)")
    report.set_defaults(run=_report)

    evaluate = commands.add_parser(
        "evaluate",
        help="off-policy evaluation: a candidate policy's revenue per order on a retailer's logged traffic",
    )
    evaluate.add_argument("--retailer", required=True, metavar="RETAILER_ID")
    evaluate.add_argument("--from", dest="first", required=True, type=date.fromisoformat, help="YYYY-MM-DD")
    evaluate.add_argument(
        "--until", type=date.fromisoformat, help="last decision day, inclusive (default: --from)"
    )
    evaluate.add_argument(
        "--policy",
        action="append",
        choices=("default", "payout-thompson", "category-thompson", "random", "prior", "logged"),
        help="a candidate policy (repeat for several; default: all but logged)",
    )
    evaluate.add_argument(
        "--outcome-days",
        type=int,
        default=7,
        help="days after --until whose conversions still count (default 7)",
    )
    evaluate.add_argument(
        "--max-decisions",
        type=int,
        default=10_000,
        help="a deterministic sample beyond this many (default 10,000)",
    )
    evaluate.add_argument("--json", action="store_true", help="the estimates as JSON")
    evaluate.set_defaults(run=_evaluate)

    catalog = commands.add_parser("catalog", help="import a partner catalog (JSONL)")
    catalog_commands = catalog.add_subparsers(dest="catalog_command", required=True)
    load = catalog_commands.add_parser("import", help="validate every line, then import idempotently")
    load.add_argument("file")
    load.set_defaults(run=_catalog_import)
    return root, commands, catalog_commands


def parser() -> argparse.ArgumentParser:
    """The operator command line (what ships with the runtime)."""
    return build_parser()[0]


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
