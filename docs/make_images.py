"""Regenerate the pictures of docs/drawing.md:  python docs/make_images.py

Needs Graphviz (pip install graphviz; apt-get install graphviz).  The screenshot of the
explain page also needs Chromium and Selenium (apt-get install chromium chromium-driver;
pip install selenium); without them it is left as it is.
"""
import os
import shutil
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))          # this checkout's compgraph

import compgraph as cg  # noqa: E402
from compgraph.viz import draw, draw_model, explain  # noqa: E402

OUT = os.path.join(HERE, "images")


def xor_graph():
    """The lecture's XOR network as the tutorial's Graph, forward and backward done."""
    g = cg.Graph()
    W = g.var(np.array([[3., 4.], [2., 3.]]), name="W")
    b = g.var(np.array([-2., -4.]), name="b")
    W2 = g.var(np.array([5., -5.]), name="W2")
    b2 = g.var(np.array([-2.]), name="b2")
    x = g.var(np.array([1., 0.]), name="x", requires_grad=False)
    t = g.var(np.array([1.]), name="t", requires_grad=False)
    s = g.add(g.mul(W, x), b)
    h = g.logistic(s)
    z = g.add(g.dot(W2, h), b2)
    y = g.logistic(z)
    error = 0.5 * (t - y) ** 2
    for node, name in ((s, "s"), (h, "h"), (z, "z"), (y, "y"), (error, "error")):
        node.name = name
    cg.forward(g)
    error.grad = 1.0
    cg.backward(g)
    return g, error


def screenshot(page_path, png_path, step_title):
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.common.by import By
    except ImportError:
        print("selenium missing: explain screenshot not made")
        return
    binary, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not binary or not driver_path:
        print("chromium/chromedriver missing: explain screenshot not made")
        return
    profile = tempfile.mkdtemp()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--window-size=1300,820", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    try:
        driver.get("file://" + os.path.abspath(page_path))
        for _ in range(100):
            if driver.find_element(By.ID, "title").text == step_title:
                break
            driver.find_element(By.ID, "next").click()
        driver.save_screenshot(png_path)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def main():
    os.makedirs(OUT, exist_ok=True)
    g, error = xor_graph()
    draw(g, format="svg", path=os.path.join(OUT, "xor.svg"))
    draw(g, format="png", path=os.path.join(OUT, "xor.png"))

    cg.manual_seed(0)
    import compgraph.nn as nn
    mlp = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    draw_model(mlp, (2, 4), os.path.join(OUT, "mlp.svg"))

    rnn = nn.RNN(3, 4)
    out = rnn(cg.randn(6, 1, 3))[0]
    draw(out.sum(), module=rnn, collapse="repeats", values=False, grads=False,
         path=os.path.join(OUT, "rnn_folded.svg"))

    # the same XOR network written with tensors, for the step-by-step page
    W = cg.tensor([[3., 4.], [2., 3.]], requires_grad=True)
    b = cg.tensor([-2., -4.], requires_grad=True)
    W2 = cg.tensor([5., -5.], requires_grad=True)
    b2 = cg.tensor([-2.], requires_grad=True)
    x, t = cg.tensor([1., 0.]), cg.tensor([1.])
    for tensor, name in ((W, "W"), (b, "b"), (W2, "W2"), (b2, "b2"), (x, "x"), (t, "t")):
        tensor.name = name
    h = cg.sigmoid(W.mv(x) + b)
    h.name = "h"
    y = cg.sigmoid(cg.dot(W2, h) + b2)
    y.name = "y"
    err = 0.5 * (t - y) ** 2
    err.name = "error"
    page = os.path.join(OUT, "xor_explain.html")
    explain(err, path=page, title="XOR: error propagation")
    screenshot(page, os.path.join(OUT, "xor_explain.png"), "dL/dh")
    print("written:", ", ".join(sorted(os.listdir(OUT))))


if __name__ == "__main__":
    main()
