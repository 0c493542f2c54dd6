"""The README's five-minute tour, run as written against a fresh local stack: every command of the
"second terminal" block, in order, with `set -euo pipefail` — then each answer checked."""

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from afterglow_dev.local.load import local_stack_process

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
DEMO_ORDERS = 200  # as `make demo`


def tour_commands() -> str:
    """The shell block that follows "In a second terminal" in README.md."""
    readme = (ROOT / "README.md").read_text()
    after = readme[readme.index("In a second terminal") :]
    match = re.search(r"```sh\n(.*?)```", after, flags=re.S)
    assert match, "README.md: no sh block after 'In a second terminal'"
    return match.group(1)


@pytest.fixture(scope="module")
def tour_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A stack of its own, as `make demo` starts it (the demo shop's first orders played): the tour
    creates a retailer and imports a catalog."""
    with local_stack_process(tmp_path_factory.mktemp("tour-stack"), demo_orders=DEMO_ORDERS) as env:
        yield env


@pytest.mark.skipif(shutil.which("curl") is None, reason="the tour uses curl")
def test_the_readme_tour_runs_as_written(tour_stack, tmp_path):
    # Given a working directory laid out as a checkout after `make demo` (.venv, .afterglow/local.env)
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    (tmp_path / ".afterglow").mkdir()
    shutil.copy(tour_stack["ENV_FILE"], tmp_path / ".afterglow" / "local.env")
    # When the tour's commands run, verbatim
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AFTERGLOW_"))}
    run = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + tour_commands()],
        cwd=tmp_path,
        env={**environment, "PYTHONPATH": str(ROOT / "shared")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    # Then every step succeeds and answers what the README says
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    out = run.stdout
    assert '"click_url"' in out and "click_id=clk_" in out  # 1 and 2: offers, a redirect with a click id
    assert "'status': 'recorded'" in out  # 3: the signed sign-up is recorded
    today = datetime.now(UTC).date().isoformat()
    report = tmp_path / f"report-{today}.html"
    assert report.is_file() and "<html" in report.read_text()  # 4: the day's report, saved
    # and the demo shop's first orders already read against its 10% holdout: lift with its CI
    rows = re.findall(r"<tr><td>(holdout|mixed)</td><td>EUR</td><td>(\d+)</td>(.*?)</tr>", report.read_text())
    arms = {arm: (int(transactions), cells) for arm, transactions, cells in rows}
    assert set(arms) == {"holdout", "mixed"} and arms["holdout"][0] > 0, rows
    assert re.search(r"<td>\+[\d.]+ EUR \[[+-][\d.]+ EUR, \+[\d.]+ EUR\]</td>", arms["mixed"][1]), rows
    assert "order-value lift (95% CI)" in report.read_text()  # the baskets compared too
    # and satisfaction beside revenue: the demo shoppers' NPS per arm, the holdout's the baseline
    assert re.search(r"NPS [+-][\d.]+ \[[+-][\d.]+, [+-][\d.]+\]", arms["mixed"][1]), rows
    assert "Satisfaction by arm" in report.read_text() and "revenue / session" in report.read_text()
    assert '"max_offers":2' in out and '"version":2' in out  # 5: the PATCH applied to the new retailer
    assert '"created"' in out and re.search(r"^3\.1\.0 \d+ paths$", out, flags=re.M)  # import, API document
