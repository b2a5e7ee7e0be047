import pytest

from .harness import Sandbox


@pytest.fixture
def sandbox(tmp_path):
    return Sandbox(tmp_path)
