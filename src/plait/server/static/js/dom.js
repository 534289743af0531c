// DOM helpers every view uses. Corpus text is always inserted as text, never as HTML.

export function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const kid of kids.flat()) if (kid !== null && kid !== undefined && kid !== false)
    el.append(kid instanceof Node ? kid : String(kid));
  return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

export const fmt = (x) =>
  typeof x === "number" ? (Number.isInteger(x) ? x.toLocaleString() : x.toFixed(3)) : String(x);

export function banner(msg) {
  const b = $("#banner");
  b.textContent = msg || "";
  b.hidden = !msg;
}

export function kvTable(obj) {
  const rows = Object.entries(obj || {});
  if (!rows.length) return h("p", { class: "muted" }, "none");
  return h("table", {}, ...rows.map(([k, v]) => h("tr", {}, h("th", {}, k),
    h("td", {}, typeof v === "object" && v !== null ? JSON.stringify(v) : fmt(v ?? "")))));
}
