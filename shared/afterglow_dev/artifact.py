"""The Lambda artifact as `sam build` makes it, built here without SAM: for tests and the bench.

- `build_shared_layer`: the shared-code layer by its own make target (shared/Makefile).
- `assemble_dependencies`: the dependencies layer, i.e. `layers/dependencies/requirements.txt` and
  everything those packages require, copied file by file from this environment's installed
  distributions (their RECORD), so nothing else a developer has installed can sneak in.
- `clean_python`: a command line for an interpreter that sees only the standard library and the
  directories given, as a Lambda sees only its runtime, layers and function code.
"""

import compileall
import py_compile
import shutil
import subprocess
import sys
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "layers" / "dependencies" / "requirements.txt"
# What must never reach Lambda: test and dev tools, and the dev package itself.
DEV_ONLY = frozenset(
    {"afterglow_dev", "moto", "werkzeug", "playwright", "matplotlib", "schemathesis", "hypothesis", "pytest"}
)


def build_shared_layer(artifacts_dir: Path) -> Path:
    """Run the SharedCodeLayer make target into `artifacts_dir`; returns its `python/` directory."""
    subprocess.run(  # noqa: S603 - our own build target
        ["make", "-s", "-C", str(ROOT / "shared"), "build-SharedCodeLayer",  # noqa: S607
         f"ARTIFACTS_DIR={artifacts_dir}", f"PYTHON={sys.executable}"],
        check=True,
    )  # fmt: skip
    return artifacts_dir / "python"


def requirement_lines(path: Path = REQUIREMENTS) -> list[str]:
    """The requirement specifiers of a requirements file (comments and blanks dropped)."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def dependency_closure(requirements: Iterable[str]) -> list[metadata.Distribution]:
    """The installed distributions these requirements need, transitively (extras and markers
    honoured). `LookupError` if one is not installed here."""
    wanted = [(Requirement(line), frozenset[str]()) for line in requirements]
    found: dict[str, metadata.Distribution] = {}
    extras_seen: dict[str, set[str]] = {}
    while wanted:
        requirement, _ = wanted.pop()
        name = canonicalize_name(requirement.name)
        extras = set(requirement.extras)
        if name in found and extras <= extras_seen[name]:
            continue
        try:
            distribution = found.get(name) or metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError as error:
            raise LookupError(f"{requirement.name} is required but not installed") from error
        found[name] = distribution
        extras_seen.setdefault(name, set()).update(extras)
        for line in distribution.requires or []:
            needed = Requirement(line)
            if needed.marker is None or any(
                _applies(needed.marker, extra) for extra in ("", *extras_seen[name])
            ):
                wanted.append((needed, frozenset()))
    return list(found.values())


def _applies(marker: Marker, extra: str) -> bool:
    return marker.evaluate({"extra": extra})


def assemble_dependencies(target: Path, requirements: Iterable[str] | None = None) -> list[str]:
    """Copy the closure of the layer's requirements into `target`; returns the distribution names."""
    target.mkdir(parents=True, exist_ok=True)
    distributions = dependency_closure(requirement_lines() if requirements is None else requirements)
    for distribution in distributions:
        for file in distribution.files or []:
            if file.parts[0] == ".." or "__pycache__" in file.parts:
                continue  # console scripts live outside site-packages; bytecode is compiled below
            source = Path(str(distribution.locate_file(file)))
            if source.is_file():
                destination = target / file
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, destination)
    # pip compiles what it installs, so the layer `sam build` makes carries bytecode: a Lambda
    # cannot write __pycache__ and would otherwise compile every module at each cold start.
    compileall.compile_dir(target, quiet=1, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    return sorted(str(distribution.metadata["Name"]) for distribution in distributions)


def clean_python(paths: Iterable[Path], code: str) -> list[str]:
    """A command running `code` in an interpreter that sees only the standard library and `paths`
    (isolated mode, no site-packages), as a Lambda sees only its runtime, layers and code."""
    setup = f"import sys; sys.path[:0] = {[str(path) for path in paths]!r}\n"
    return [sys.executable, "-I", "-S", "-c", setup + code]
