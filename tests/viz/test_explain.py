"""explain(): the steps of the page, and the page itself clicked through in a real browser."""
import importlib
import json
import os
import re
import shutil

import pytest

import compgraph as cg
from compgraph.viz import explain
from compgraph.viz.draw import GraphvizNotFound

from .examples import XOR_W2_GRAD, shared_product, xor


def steps_of(page):
    return json.loads(re.search(r"const STEPS = (.*);\n", page).group(1))


def floats(text):
    return [float(t) for t in re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", text)]


def test_steps_go_forward_then_backward_with_the_engine_gradients():
    error, p = xor()
    steps = steps_of(explain(error))
    phases = [s["phase"] for s in steps]
    n_forward = phases.count("forward")
    assert phases == ["forward"] * n_forward + ["backward"] * (len(steps) - n_forward)
    assert n_forward == 15                 # 6 leaves, 9 ops; the numbers 0.5 and 2 take no step
    assert steps[n_forward]["title"] == "dL/derror" and floats(steps[n_forward]["grad"]) == [1]
    by_title = {s["title"]: s for s in steps}
    assert floats(by_title["dL/dW2"]["grad"]) == pytest.approx(XOR_W2_GRAD, abs=5e-5)
    error.backward()
    for name in ("W", "b", "W2", "b2"):    # every leaf's gradient is the one backward gives
        expected = p[name].grad.numpy().ravel()
        assert floats(by_title[f"dL/d{name}"]["grad"]) == pytest.approx(expected, rel=1e-3, abs=1e-6)


def test_local_derivatives_are_named_and_accumulate():
    f, a, b = shared_product()
    steps = steps_of(explain(f))
    back = {s["title"]: s for s in steps if s["phase"] == "backward"}
    top = back["dL/df"]["local"]
    assert [l["formula"] for l in top] == ["dL/dadd3 += dL/df · add4", "dL/dadd4 += dL/df · add3"]
    u = back["dL/du"]
    assert floats(u["grad"]) == [7.0]      # (u + 2) + (u + 1): two uses, summed
    assert [l["formula"] for l in u["local"]] == ["dL/da += dL/du · b", "dL/db += dL/du · a"]
    assert [floats(l["total"]) for l in u["local"]] == [[7.0], [14.0]]
    # on the way back u+2 (add4) comes first and gives u 3 (= u+1); then u+1 (add3) adds 4
    assert floats(back["dL/dadd4"]["local"][0]["total"]) == [3.0]
    assert floats(back["dL/dadd3"]["local"][0]["total"]) == [7.0]


def test_page_is_self_contained_and_embeds_the_drawing(viz, tmp_path):
    error, _ = xor()
    page = explain(error, path=tmp_path / "xor.html", title="XOR <net>")
    assert (tmp_path / "xor.html").read_text(encoding="utf-8") == page
    assert "<svg" in page and 'id="n2"' in page and '<ol class="listview">' not in page
    assert "<title>XOR &lt;net&gt;</title>" in page
    assert not re.search(r'<script[^>]+src=|<link |@import|url\(http|src="http', page)


def test_page_falls_back_to_a_list_without_graphviz(monkeypatch):
    def missing(*args, **kwargs):
        raise GraphvizNotFound("no dot here")
    # compgraph.viz.draw is the function; the module of the same name holds render()
    monkeypatch.setattr(importlib.import_module("compgraph.viz.draw"), "render", missing)
    error, _ = xor()
    page = explain(error)
    assert "<svg" not in page and '<ol class="listview">' in page
    assert '<li id="n2" class="node"><b>W2: parameter</b>' in page


def test_a_whole_graph_is_explained_from_its_last_node():
    import numpy as np
    g = cg.Graph()
    W2 = g.var(np.array([5., -5.]), name="W2")
    h = g.var(np.array([0.7311, 0.1192]), name="h", requires_grad=False)
    loss = g.logistic(g.dot(W2, h))
    loss.name = "y"
    steps = steps_of(explain(g))          # nothing computed yet: explain runs forward
    assert [s["title"] for s in steps if s["phase"] == "backward"] == ["dL/dy", "dL/ddot2", "dL/dW2"]
    y = 1 / (1 + np.exp(-(5 * 0.7311 - 5 * 0.1192)))
    assert floats(steps[-1]["grad"]) == pytest.approx(y * (1 - y) * np.array([0.7311, 0.1192]), rel=1e-3)


def test_script_text_cannot_close_the_script_tag():
    a = cg.tensor(1.0, requires_grad=True)
    a.name = "</script><b>x"
    page = explain(a * 3)
    assert page.count("</script>") == 1
    assert steps_of(page)[0]["name"] == "</script><b>x"


def test_explain_needs_a_graph():
    with pytest.raises(cg.ArgumentError, match="does not require grad"):
        explain(cg.tensor(1.0) * 2)


# --- in a real browser -----------------------------------------------------------------------------

def test_clicking_through_the_xor_page_in_chromium(browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    error, _ = xor()
    page = tmp_path / "xor.html"
    explain(error, path=page)
    browser.get(page.as_uri())
    text = lambda i: browser.find_element(By.ID, i).text                      # noqa: E731
    assert text("counter") == f"step 1 of {len(steps_of(page.read_text()))}"
    assert text("phase") == "forward pass" and text("title") == "W: parameter"
    seen = []
    while text("title") != "dL/dW2":
        browser.find_element(By.ID, "next").click()
        seen.append(text("title"))
        assert len(seen) < 40, "never reached W2 in the backward pass"
    assert "backward pass" == text("phase")
    assert "y = sigmoid(add10)" not in seen and "sigmoid11 = sigmoid(add10)" in seen
    assert floats(text("grad")) == pytest.approx(XOR_W2_GRAD, abs=5e-5)
    assert floats(text("value")) == [5, -5]
    # the node is highlighted in the drawing (or the list, without Graphviz)
    assert "current" in browser.find_element(By.ID, "n2").get_attribute("class")
    shot = tmp_path / "explain-xor.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    artifacts = os.environ.get("COMPGRAPH_ARTIFACTS")
    if artifacts:                         # a CI may keep the screenshot for people to look at
        os.makedirs(artifacts, exist_ok=True)
        shutil.copy(shot, artifacts)
    # the keyboard goes back a step and forward again
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_LEFT)
    assert text("title") != "dL/dW2"
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_RIGHT)
    assert text("title") == "dL/dW2"
    assert text("local").startswith("(none: a leaf")  # a leaf passes nothing further back
    for _ in range(10):                                # back to the dot product W2 . h
        if text("title") == "dL/ddot9":
            break
        browser.find_element(By.ID, "prev").click()
    rows = [[td.text for td in tr.find_elements(By.TAG_NAME, "td")]
            for tr in browser.find_elements(By.CSS_SELECTOR, "#local tr")]
    assert [r[:2] for r in rows] == [["W2", "dL/dW2 += dL/ddot9 · sigmoid8"],
                                     ["sigmoid8", "dL/dsigmoid8 += dL/ddot9 · W2"]]
    assert floats(rows[0][2]) == pytest.approx(XOR_W2_GRAD, abs=5e-5)
