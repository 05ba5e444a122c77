"""The HTML report's style sheet and script, inlined into every report.

They are Python strings rather than files beside the module so that an
installed package always has them, and so that the report can name their
SHA-256 in its Content-Security-Policy: the browser then runs this script and
no other, even if a value from an article ever slipped past the escaping.
"""

from __future__ import annotations

from typing import Final

STYLE: Final = """
:root { --fg: #1d2430; --muted: #5b6472; --bg: #fff; --card: #f4f6f9;
  --line: #d9dee6; --link: #0b57b0; --dead: #c62828; --suspect: #b45f00;
  --blocked: #7b5ea7; --inconclusive: #6b7480; --alive: #2e8b57;
  --on-dead: #fff; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6e9ee; --muted: #a3acb9; --bg: #14181f; --card: #1e242d;
    --line: #323a46; --link: #7fb4ff; --dead: #ef5350; --suspect: #f0a030;
    --blocked: #9c6bd6; --inconclusive: #8a94a0; --alive: #3fae6f;
    --on-dead: #14181f; }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body { margin: 0 auto; max-width: 78rem; padding: 1rem; color: var(--fg);
  background: var(--bg); font: 15px/1.45 system-ui, -apple-system, "Segoe UI",
  Roboto, "DejaVu Sans", sans-serif; }
h1 { font-size: 1.6rem; margin: 0.2rem 0; }
h2 { font-size: 1.2rem; margin: 2rem 0 0.6rem; border-bottom: 1px solid var(--line);
  padding-bottom: 0.3rem; }
a { color: var(--link); }
code { font: 0.85em/1.3 ui-monospace, "DejaVu Sans Mono", monospace;
  overflow-wrap: anywhere; }
.meta, .note { color: var(--muted); font-size: 0.9rem; }
nav { display: flex; flex-wrap: wrap; gap: 0.3rem 1rem; margin: 0.6rem 0; }
.cards { display: grid; gap: 0.6rem;
  grid-template-columns: repeat(auto-fit, minmax(10.5rem, 1fr)); }
.card { background: var(--card); border-radius: 8px; padding: 0.7rem 0.8rem; }
.card b { display: block; font-size: 1.7rem; line-height: 1.2; }
.card span { color: var(--muted); font-size: 0.85rem; }
.card.bad b { color: var(--dead); }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; }
#domain-section, #dead-section, #unsettled-section, #articles-section,
#drift-section { content-visibility: auto; contain-intrinsic-size: auto 40rem; }
table { border-collapse: collapse; width: 100%; font-size: 0.88rem; }
th, td { text-align: left; vertical-align: top; padding: 0.35rem 0.5rem;
  border-bottom: 1px solid var(--line); white-space: nowrap; }
td.wrap { white-space: normal; min-width: 10rem; max-width: 22rem; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
td.url { white-space: normal; overflow-wrap: anywhere; min-width: 14rem;
  max-width: 28rem; }
td.bar { width: 30%; min-width: 6rem; vertical-align: middle; }
svg.bar { display: block; width: 100%; height: 0.8rem; }
svg.bar .track { fill: var(--card); }
thead th { position: sticky; top: 0; background: var(--bg); }
th button { all: unset; cursor: pointer; font-weight: 600; }
th button:focus-visible { outline: 2px solid var(--link); }
th button::after { content: "\\00a0\\2195"; color: var(--muted); }
th[aria-sort=ascending] button::after { content: "\\00a0\\2191"; color: var(--fg); }
th[aria-sort=descending] button::after { content: "\\00a0\\2193"; color: var(--fg); }
tr[hidden] { display: none; }
.filter { display: flex; gap: 0.6rem; align-items: center; margin: 0.4rem 0; }
.filter input { flex: 1 1 auto; max-width: 24rem; font: inherit;
  padding: 0.35rem 0.5rem; border: 1px solid var(--line); border-radius: 6px;
  background: var(--bg); color: var(--fg); }
.chart { display: block; max-width: 36rem; height: auto; margin: 0.4rem 0; }
.chart-wrap { overflow-x: auto; }
.chart text { fill: var(--fg); font: 14px system-ui, "DejaVu Sans", sans-serif; }
.chart .axis { fill: var(--muted); font-size: 13px; }
.chart .tick { fill: var(--muted); }
.chart .grid { stroke: var(--line); }
.chart .track { fill: var(--card); }
.g-dead { fill: var(--dead); } .g-suspect { fill: var(--suspect); }
.g-blocked { fill: var(--blocked); } .g-inconclusive { fill: var(--inconclusive); }
.g-alive { fill: var(--alive); }
.badge { display: inline-block; border-radius: 4px; padding: 0 0.3rem;
  color: var(--on-dead); background: var(--dead); font-size: 0.8rem; }
dt { font-weight: 600; margin-top: 0.5rem; }
dd { margin-left: 1rem; }
@media (max-width: 40rem) {
  body { padding: 0.6rem; font-size: 14px; }
  .card b { font-size: 1.35rem; }
}
@media print { .filter, nav { display: none; } thead th { position: static; } }
"""

SCRIPT: Final = """
"use strict";
(() => {
  // Sort keys: a cell's data-sort, else its text. Numbers compare as numbers
  // and come before words; words compare case-blind.
  const key = (cell) => (cell ? cell.dataset.sort ?? cell.textContent.trim() : "");
  const numeric = (v) => v !== "" && Number.isFinite(Number(v));
  const compare = (a, b) => {
    if (numeric(a) && numeric(b)) return Number(a) - Number(b);
    if (numeric(a) !== numeric(b)) return numeric(a) ? -1 : 1;
    const x = a.toLowerCase(), y = b.toLowerCase();
    return x < y ? -1 : x > y ? 1 : 0;
  };

  function sort(table, column, descending) {
    const body = table.tBodies[0];
    const rows = Array.from(body.rows, (row, n) => [key(row.cells[column]), n, row]);
    const sign = descending ? -1 : 1;
    rows.sort((p, q) => sign * compare(p[0], q[0]) || p[1] - q[1]);
    for (const [, , row] of rows) body.appendChild(row);
    Array.from(table.tHead.rows[0].cells).forEach((th, n) => {
      const order = descending ? "descending" : "ascending";
      if (n === column) th.setAttribute("aria-sort", order);
      else th.removeAttribute("aria-sort");
    });
  }

  // Each row's text is read from the page once, not at every keystroke, and
  // only rows whose state changes are touched, so the page is laid out anew
  // for what changed alone.
  const texts = new WeakMap();
  function filter(table, query) {
    const words = query.toLowerCase().split(/\\s+/).filter(Boolean);
    const rows = Array.from(table.tBodies[0].rows);
    let shown = 0;
    for (const row of rows) {
      let text = texts.get(row);
      if (text === undefined) {
        text = row.textContent.toLowerCase();
        texts.set(row, text);
      }
      const hide = !words.every((word) => text.includes(word));
      if (row.hidden !== hide) row.hidden = hide;
      if (!hide) shown += 1;
    }
    const count = document.querySelector(`[data-count="${table.id}"]`);
    if (count) count.textContent = `${shown} of ${rows.length}`;
  }

  for (const table of document.querySelectorAll("table.sortable")) {
    Array.from(table.tHead.rows[0].cells).forEach((th, column) => {
      const button = th.querySelector("button");
      if (!button) return;
      button.addEventListener("click", () => {
        sort(table, column, th.getAttribute("aria-sort") === "ascending");
      });
    });
  }
  for (const input of document.querySelectorAll("input[data-filter]")) {
    const table = document.getElementById(input.dataset.filter);
    if (!table) continue;
    input.addEventListener("input", () => filter(table, input.value));
    filter(table, input.value);
  }

  // A view can be linked: #sort=TABLE.COLUMN[.desc]&filter=TABLE:WORDS
  // (COLUMN counts from 0). Sorting clicks the header, as a reader would.
  function follow() {
    for (const part of location.hash.slice(1).split("&")) {
      const at = part.indexOf("=");
      if (at < 0) continue;
      let value;
      try {
        value = decodeURIComponent(part.slice(at + 1));
      } catch (error) {
        continue;
      }
      const name = part.slice(0, at);
      if (name === "sort") {
        const [id, column, order] = value.split(".");
        const table = document.getElementById(id);
        const head = table && table.tHead ? table.tHead.rows[0] : null;
        const th = head ? head.cells[Number(column)] : null;
        const button = th ? th.querySelector("button") : null;
        if (!button) continue;
        th.removeAttribute("aria-sort");
        button.click();
        if (order === "desc") button.click();
      } else if (name === "filter") {
        const colon = value.indexOf(":");
        const input = Array.from(document.querySelectorAll("input[data-filter]"))
          .find((i) => i.dataset.filter === value.slice(0, colon));
        if (!input) continue;
        input.value = value.slice(colon + 1);
        input.dispatchEvent(new Event("input"));
      }
    }
  }
  follow();
  window.addEventListener("hashchange", follow);
  document.documentElement.dataset.ready = "yes";
})();
"""
