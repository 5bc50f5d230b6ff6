"""The HTML page of explain(): inline CSS and JS, nothing fetched from the network.

Placeholders: %TITLE% (escaped text), %PICTURE% (the SVG drawing or a list of nodes; each
node is an element whose id is the step's `node`), %STEPS% (the steps as JSON).
The script shows one step at a time: Prev/Next buttons, or the left/right arrow keys.
"""

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>%TITLE%</title>
<style>
  body { font-family: Helvetica, Arial, sans-serif; margin: 0; color: #222; }
  header { padding: 10px 16px; background: #f4f6fa; border-bottom: 1px solid #d0d7e2;
           display: flex; gap: 12px; align-items: center; }
  header h1 { font-size: 18px; margin: 0 12px 0 0; }
  button { font-size: 14px; padding: 4px 14px; }
  #counter { font-variant-numeric: tabular-nums; }
  .phase { font-weight: bold; padding: 2px 8px; border-radius: 4px; }
  .phase.forward { background: #d9ecd0; } .phase.backward { background: #f8d7d2; }
  main { display: flex; gap: 16px; padding: 16px; align-items: flex-start; }
  #picture { flex: 3; overflow: auto; max-height: 85vh; }
  #picture svg { max-width: 100%; height: auto; }
  #panel { flex: 2; min-width: 320px; }
  #panel h2 { font-size: 17px; margin: 0 0 6px 0; font-family: monospace; }
  pre { background: #f7f7f7; padding: 6px 8px; margin: 2px 0 10px 0; white-space: pre-wrap; }
  #grad { color: #b03020; }
  .label { font-size: 12px; color: #666; font-weight: bold; }
  table { border-collapse: collapse; font-size: 13px; width: 100%; }
  td, th { border: 1px solid #ddd; padding: 4px 6px; vertical-align: top; text-align: left; }
  td.formula { font-family: monospace; }
  .meta { color: #666; font-size: 12px; }
  .node.current polygon, .node.current path, .node.current ellipse {
      stroke: #e0301e; stroke-width: 4px; }
  .node.visited polygon, .node.visited path { stroke-width: 2px; }
  li.node.current { background: #ffe1dc; } li.node.visited { color: #333; }
  .listview li { margin: 3px 0; }
</style>
</head>
<body>
<header>
  <h1>%TITLE%</h1>
  <button id="prev" title="previous step (left arrow)">&larr; Prev</button>
  <button id="next" title="next step (right arrow)">Next &rarr;</button>
  <span id="counter"></span>
  <span id="phase" class="phase"></span>
</header>
<main>
  <div id="picture">%PICTURE%</div>
  <div id="panel">
    <h2 id="title"></h2>
    <div id="text" class="meta"></div>
    <div class="label">value</div><pre id="value"></pre>
    <div class="label">gradient dL/d(node)</div><pre id="grad"></pre>
    <div class="label">local derivatives: what this node passes back to its inputs</div>
    <table><thead><tr><th>input</th><th>rule</th><th>adds</th><th>input's gradient so far</th>
    </tr></thead><tbody id="local"></tbody></table>
  </div>
</main>
<script>
"use strict";
const STEPS = %STEPS%;
let current = 0;

function setText(id, text) { document.getElementById(id).textContent = text; }

function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  row.appendChild(td);
}

function show(i) {
  current = Math.max(0, Math.min(STEPS.length - 1, i));
  const s = STEPS[current];
  setText("counter", "step " + (current + 1) + " of " + STEPS.length);
  const phase = document.getElementById("phase");
  phase.textContent = s.phase === "forward" ? "forward pass" : "backward pass";
  phase.className = "phase " + s.phase;
  setText("title", s.title);
  setText("text", s.text);
  setText("value", s.value);
  setText("grad", s.phase === "backward" ? s.grad : "(computed in the backward pass)");
  const body = document.getElementById("local");
  body.replaceChildren();
  if (s.phase === "backward" && s.local.length === 0) {
    const row = document.createElement("tr");
    cell(row, "(none: a leaf, nothing further back)");
    row.firstChild.colSpan = 4;
    body.appendChild(row);
  }
  for (const l of s.local) {
    const row = document.createElement("tr");
    cell(row, l.to); cell(row, l.formula, "formula"); cell(row, l.contribution); cell(row, l.total);
    body.appendChild(row);
  }
  // highlight the node in the picture; nodes already passed in this phase stay marked
  for (const el of document.querySelectorAll(".node")) el.classList.remove("current", "visited");
  for (let k = 0; k < current; k++) {
    if (STEPS[k].phase !== s.phase) continue;
    const el = document.getElementById(STEPS[k].node);
    if (el) el.classList.add("visited");
  }
  const el = document.getElementById(s.node);
  if (el) { el.classList.add("current"); el.scrollIntoView({block: "nearest", inline: "nearest"}); }
  document.getElementById("prev").disabled = current === 0;
  document.getElementById("next").disabled = current === STEPS.length - 1;
}

document.getElementById("prev").addEventListener("click", () => show(current - 1));
document.getElementById("next").addEventListener("click", () => show(current + 1));
document.addEventListener("keydown", (e) => {
  if (e.key === "ArrowRight") { show(current + 1); e.preventDefault(); }
  if (e.key === "ArrowLeft") { show(current - 1); e.preventDefault(); }
});
show(0);
</script>
</body>
</html>
"""
