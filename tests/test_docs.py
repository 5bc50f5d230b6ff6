"""The walkthrough's code blocks run in order and their assertions hold."""
import pathlib
import re

DOC = pathlib.Path(__file__).resolve().parents[1] / "docs" / "walkthrough.md"


def test_walkthrough_blocks_run_in_order():
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) == 5
    namespace = {}
    for code in blocks:                       # later blocks use names from earlier ones
        exec(compile(code, str(DOC), "exec"), namespace)
    assert namespace["a"].grad.item() == 7.0
