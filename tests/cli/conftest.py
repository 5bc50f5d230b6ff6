import pytest

from tests.cli.synthetic import write_fake_mnist


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory):
    """Separable 10-class data: 600 training and 200 test images."""
    return write_fake_mnist(tmp_path_factory.mktemp("fake-mnist"))


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """No test reads or fills the user's dataset cache."""
    monkeypatch.setenv("COMPGRAPH_DATA", str(tmp_path / "cache"))
