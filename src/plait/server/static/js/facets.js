// The filter facets beside the results. A long facet (languages: 79 values on the demo
// corpus) shows its most common values, a box to find the others, and "show all".
import { $, $$, fmt, h } from "./dom.js";
import { state } from "./state.js";

const SHOWN = 8; // values visible before "show all" (checked values always show)

function facetRows(fs, name, counts, onChange) {
  const entries = Object.entries(counts || {});
  const rows = entries.map(([value, n]) => {
    const box = h("input", { type: "checkbox", value, name, checked: state.filters[name].includes(value) });
    box.addEventListener("change", onChange);
    return h("label", { "data-value": value.toLowerCase() }, box, " ", value, " ", h("span", { class: "count" }, fmt(n)));
  });
  fs.append(...rows);
  if (entries.length <= SHOWN) return;
  const find = h("input", { type: "search", class: "facet-find", placeholder: `find among ${entries.length}…`,
    "aria-label": `find a ${fs.querySelector("legend").textContent.toLowerCase()}` });
  const more = h("button", { type: "button", class: "facet-more" }, `show all ${entries.length}`);
  let all = false;
  const refresh = () => {
    const needle = find.value.trim().toLowerCase();
    rows.forEach((row, i) => {
      const checked = row.querySelector("input").checked;
      row.hidden = needle ? !row.dataset.value.includes(needle) : !(all || i < SHOWN || checked);
    });
    more.hidden = Boolean(needle);
    more.textContent = all ? "show fewer" : `show all ${entries.length}`;
  };
  find.addEventListener("input", refresh);
  more.addEventListener("click", () => { all = !all; refresh(); });
  fs.querySelector("legend").after(find);
  fs.append(more);
  refresh();
}

export function buildFilters(onChange) {
  const st = state.stats;
  const counts = { langs: st.by_lang, licences: st.by_licence, sources: st.by_source, kinds: st.by_kind };
  for (const fs of $$("fieldset[data-filter]")) facetRows(fs, fs.dataset.filter, counts[fs.dataset.filter], onChange);
  $("#min-score").value = state.scores.min ?? "";
  $("#max-score").value = state.scores.max ?? "";
  $("#stat-key").value = state.stat.key;
  $("#stat-min").value = state.stat.min ?? "";
  $("#stat-max").value = state.stat.max ?? "";
}

export function readFilters() {
  for (const name of Object.keys(state.filters))
    state.filters[name] = $$(`input[name=${name}]:checked`).map((b) => b.value);
  const num = (sel) => { const v = $(sel).value; return v === "" ? null : Number(v); };
  state.scores = { min: num("#min-score"), max: num("#max-score") };
  state.stat = { key: $("#stat-key").value.trim(), min: num("#stat-min"), max: num("#stat-max") };
}
