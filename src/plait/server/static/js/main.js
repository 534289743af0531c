// plait web UI: ES modules, no build step, talks only to the JSON API under /api.
// One module per view (search, sample, dashboard, export dialog, answer panel) over a
// small shared core (api.js: requests; state.js: what the views share; dom.js: helpers).
// A new view: a module exporting show*(), and one line in route() below.
import { call, url } from "./api.js";
import { showDashboard } from "./dashboard.js";
import { $, banner, fmt, h } from "./dom.js";
import { openExport, runExport } from "./export.js";
import { showSample } from "./sample.js";
import { showSearch } from "./search.js";
import { state } from "./state.js";

async function route() {
  banner("");
  const hash = location.hash || "#/";
  try {
    if (!state.stats) state.stats = await call(url("/stats"));
    if (hash.startsWith("#/sample/")) return await showSample(decodeURIComponent(hash.slice(9)));
    if (hash.startsWith("#/dashboard")) return await showDashboard(route);
    return await showSearch();
  } catch (e) { banner(e.message); }
}

async function boot() {
  state.meta = await call("/api/corpora");
  const sel = $("#corpus");
  for (const c of state.meta.corpora) sel.append(h("option", { value: c.name }, `${c.name} (${fmt(c.samples)})`));
  state.corpus = new URLSearchParams(location.search).get("corpus") || state.meta.default;
  sel.value = state.corpus;
  sel.addEventListener("change", async () => { state.corpus = sel.value; state.stats = null; await route(); });
  $("#export-open").addEventListener("click", openExport);
  $("#export-form").addEventListener("submit", runExport);
  window.addEventListener("hashchange", route);
  await route();
}

boot().catch((e) => banner(e.message));
