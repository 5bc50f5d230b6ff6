"""The README's Python examples run as written, and show what the README says they show."""
import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_examples_run():
    found = blocks()
    assert len(found) >= 3
    for code in found:
        namespace = {}
        exec(compile(code, str(README), "exec"), namespace)
        if "W2" in namespace:   # the PyTorch-style block states W2.grad in a comment
            assert repr(namespace["W2"].grad) == "tensor([-0.0360, -0.0059])"
        if "loss" in namespace and hasattr(namespace["loss"], "scalar_value"):
            assert namespace["loss"].scalar_value() > 0
