"""The local stack as a newcomer runs it: `afterglow local` in its own process, driven over HTTP."""

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from afterglow_dev.local.load import local_stack_process


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Start `afterglow local` on free ports; yields the environment it wrote to its env file."""
    with ExitStack() as stack:
        try:
            env = stack.enter_context(local_stack_process(tmp_path_factory.mktemp("stack")))
        except RuntimeError as error:
            pytest.fail(str(error))
        yield env
