// The dashboard: counts, drop and quarantine reasons, sources, licences, languages,
// recent drops and runs (a curate run's drops can be undone with the API key).
import { call, keyHeader, postJson, sampleHref, url } from "./api.js";
import { $, banner, fmt, h, kvTable } from "./dom.js";
import { state } from "./state.js";

function barChart(counts) {
  const rows = Object.entries(counts || {}).slice(0, 12);
  if (!rows.length) return h("p", { class: "muted" }, "none");
  const NS = "http://www.w3.org/2000/svg";
  const W = 320, bar = 18, gap = 6, label = 130, max = Math.max(...rows.map(([, n]) => n));
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${rows.length * (bar + gap)}`);
  svg.setAttribute("width", "100%");
  svg.setAttribute("role", "img");
  rows.forEach(([name, n], i) => {
    const y = i * (bar + gap);
    const t = document.createElementNS(NS, "text");
    t.setAttribute("x", 0); t.setAttribute("y", y + 13);
    t.textContent = name.length > 20 ? name.slice(0, 19) + "…" : name;
    const title = document.createElementNS(NS, "title");
    title.textContent = `${name}: ${n}`;
    const r = document.createElementNS(NS, "rect");
    const w = Math.max(2, ((W - label - 40) * n) / max);
    r.setAttribute("x", label); r.setAttribute("y", y); r.setAttribute("width", w); r.setAttribute("height", bar);
    r.setAttribute("rx", 3); r.setAttribute("fill", "#2f5bd3"); r.append(title);
    const v = document.createElementNS(NS, "text");
    v.setAttribute("x", label + w + 4); v.setAttribute("y", y + 13); v.textContent = fmt(n);
    svg.append(t, r, v);
  });
  return svg;
}

async function undoRun(runId, reload) {
  let key = sessionStorage.getItem("plait-key");
  if (!key) { key = prompt("API key (needed for writes)") || ""; sessionStorage.setItem("plait-key", key); }
  if (!confirm(`Restore every sample run ${runId} dropped?`)) return;
  try {
    const r = await postJson(url("/restore"), { run: runId }, keyHeader());
    state.stats = null;
    await reload();
    banner(`restored ${r.restored} samples (run ${r.run_id})`);
  } catch (e) { banner(e.message); }
}

export async function showDashboard(reload) {
  const st = (state.stats = await call(url("/stats")));
  const [runs, rej] = await Promise.all([call(url("/runs?limit=20")), call(url("/rejected?limit=12"))]);
  const total = (o) => Object.values(o).reduce((a, b) => a + b, 0);
  const panel = (title, ...kids) => h("div", { class: "panel" }, h("h3", {}, title), ...kids);
  $("#view").replaceChildren(
    h("div", { class: "dash" },
      h("div", { class: "panel" }, h("h3", {}, "Samples"), h("div", { class: "big", id: "n-samples" }, fmt(st.samples)),
        h("div", { class: "muted" }, `${fmt(st.media)} media · ${(st.media_bytes / 1048576).toFixed(1)} MiB · ${fmt(st.rejected)} dropped · ${fmt(total(st.quarantine_by_reason))} quarantined`)),
      h("div", { class: "panel", id: "drop-chart" }, h("h3", {}, "Drop reasons"), barChart(st.rejected_by_reason)),
      panel("Quarantine reasons", barChart(st.quarantine_by_reason)),
      panel("By kind", barChart(st.by_kind)),
      panel("By source", barChart(st.by_source)),
      panel("By licence", barChart(st.by_licence)),
      panel("By language", barChart(st.by_lang)),
      panel("Embeddings", kvTable(st.embeddings))),
    panel("Recently dropped",
      h("table", {}, h("tr", {}, h("th", {}, "sample"), h("th", {}, "op"), h("th", {}, "reason"), h("th", {}, "run")),
        ...rej.items.map((r) => h("tr", {}, h("td", {}, h("a", { href: sampleHref(r.id) }, r.id)), h("td", {}, r.op), h("td", {}, r.reason), h("td", {}, r.run_id || ""))))),
    panel("Runs",
      h("table", {}, h("tr", {}, ...["run", "command", "status", "started", "counts", ""].map((c) => h("th", {}, c))),
        ...runs.items.map((r) => h("tr", {}, h("td", {}, r.run_id), h("td", {}, r.command), h("td", {}, r.status),
          h("td", {}, r.started_at ? new Date(r.started_at).toLocaleString() : ""), h("td", {}, JSON.stringify(r.counts).slice(0, 120)),
          h("td", {}, r.command === "curate" && (r.counts.rejected || 0) > 0
            ? h("button", { type: "button", onclick: () => undoRun(r.run_id, reload) }, "undo drops") : ""))))));
}
