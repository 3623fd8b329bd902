"""The site's own stylesheet and script, written into its assets folder: nothing is loaded
from elsewhere."""

from __future__ import annotations

__all__ = ["ASSETS", "CSS", "SITE_CSS", "SORT_JS", "SORT_TABLES_JS"]

ASSETS = "assets"
CSS = "modelcards.css"
SORT_JS = "modelcards.js"


SITE_CSS = """\
/* Written by modelcards build: finding badges, status marks, charts, and a clean print view. */
.mc-graph { overflow-x: auto; margin: 1em 0; }
.mc-lineage { max-width: none; font-size: 13px; }
.mc-lineage text { fill: var(--md-default-fg-color); }
.mc-lineage .mc-node { stroke-width: 1.5; }
.mc-lineage .mc-upstream { fill: #e7f5ff; stroke: #1c7ed6; }
.mc-lineage .mc-model { fill: #fff4e6; stroke: #e8590c; }
.mc-lineage .mc-node + text { fill: #1f2328; }
.mc-lineage .mc-edge { fill: none; stroke: var(--md-default-fg-color--light); stroke-width: 1.5; }
.mc-lineage marker path { fill: var(--md-default-fg-color--light); }
.mc-lineage .mc-edge-label { font-size: 11px; fill: var(--md-default-fg-color--light); }
.mc-lineage a:hover .mc-node, .mc-lineage a:focus .mc-node { stroke-width: 3; }
.mc-badge { display: inline-block; padding: 0 .5em; margin: 0 .15em .15em 0; border-radius: .8em;
  font-size: .75rem; font-weight: 700; line-height: 1.6; white-space: nowrap; color: #fff;
  background: #5c5f66; }
.mc-critical { background: #862e9c; }
.mc-high { background: #c92a2a; }
.mc-medium { background: #d9480f; }
.mc-low { background: #1971c2; }
.mc-info { background: #5c5f66; }
.mc-waived { background: #adb5bd; color: #212529; }
.mc-none { background: #2b8a3e; }
.mc-evidenced { color: #2b8a3e; font-weight: 700; }
.mc-partial { color: #d9480f; font-weight: 700; }
.mc-missing { color: #c92a2a; font-weight: 700; }
.mc-subnav { font-size: .8rem; }
.mc-nowrap { white-space: nowrap; }
.mc-chart { max-width: 100%; height: auto; border: 1px solid #e9ecef; }
.mc-sortable th { cursor: pointer; user-select: none; }
.mc-sortable th[aria-sort="ascending"]::after { content: " \\25B2"; }
.mc-sortable th[aria-sort="descending"]::after { content: " \\25BC"; }
.md-typeset table:not([class]) { font-size: .72rem; }
@media print {
  .md-header, .md-tabs, .md-sidebar, .md-search, .md-footer, .md-top, .md-source,
  .md-content__button, .headerlink, .mc-subnav { display: none !important; }
  .md-main__inner, .md-content, .md-content__inner { margin: 0 !important; max-width: none !important; }
  .md-typeset .md-typeset__scrollwrap, .md-typeset__table { overflow: visible !important; }
  .md-typeset table:not([class]) { display: table !important; width: 100%; font-size: 8pt; }
  .md-typeset tr, .md-typeset img, .md-typeset pre { break-inside: avoid; page-break-inside: avoid; }
  .md-typeset td, .md-typeset th { word-break: break-word; }
  .md-typeset pre, .md-typeset code { white-space: pre-wrap !important; word-break: break-all; }
  .mc-badge { border: 1px solid #000; print-color-adjust: exact; -webkit-print-color-adjust: exact; }
  details { display: block; } details > * { display: block !important; }
}
"""


SORT_TABLES_JS = """\
/* Written by modelcards build: a click (or Enter) on a column header of a table inside
   .mc-sortable sorts its rows by that column; again, the other way. A cell may carry its own
   sort key in a data-sort attribute (finding counts, checklist scores). No network, no library. */
(function () {
  function key(cell) {
    var marked = cell.querySelector("[data-sort]");
    var text = (marked ? marked.getAttribute("data-sort") : cell.textContent).trim();
    var number = Number(text.replace(/,/g, ""));
    return text !== "" && !isNaN(number) ? number : text.toLowerCase();
  }
  function compare(x, y) {
    if (typeof x !== typeof y) { x = String(x); y = String(y); }
    return x < y ? -1 : x > y ? 1 : 0;
  }
  function sortBy(table, column, header) {
    var body = table.tBodies[0];
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      return compare(key(a.cells[column]), key(b.cells[column])) * (ascending ? 1 : -1);
    });
    rows.forEach(function (row) { body.appendChild(row); });
    Array.prototype.forEach.call(header.parentNode.cells, function (th) {
      th.removeAttribute("aria-sort");
    });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }
  function setUp() {
    document.querySelectorAll(".mc-sortable table").forEach(function (table) {
      if (!table.tHead || !table.tBodies.length) { return; }
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, column) {
        th.tabIndex = 0;
        th.title = "Sort by this column";
        th.addEventListener("click", function () { sortBy(table, column, th); });
        th.addEventListener("keydown", function (event) {
          if (event.key === "Enter") { sortBy(table, column, th); }
        });
      });
    });
  }
  function searchNote() {
    /* opened as plain files, the browser refuses the search worker: say so, rather than
       offer a box that silently finds nothing */
    if (location.protocol !== "file:") { return; }
    document.querySelectorAll("input.md-search__input").forEach(function (input) {
      input.disabled = true;
      input.placeholder = "Search needs the site served: modelcards serve";
      input.title = input.placeholder;
    });
  }
  function start() { setUp(); searchNote(); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
"""
