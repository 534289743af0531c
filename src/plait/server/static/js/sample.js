// One sample: its slots (text and images), lineage, source, stats and meta. A document
// also shows its pages in order, each with its thumbnail and text; a page links to its
// document and its neighbours. A clip, video or sound plays from its start time, with its
// keyframes and its timed lines (subtitles, transcript) that seek the player.
import { call, mediaUrl, sampleHref, samplePath } from "./api.js";
import { $, h, kvTable } from "./dom.js";
import { player, seek, span } from "./player.js";
import { moreLike } from "./search.js";

// A slot with a time (a keyframe, a subtitle or transcript line) seeks the player there.
function timeLink(sl) {
  if (!sl.time) return null;
  return h("a", { href: "#", class: "seek", onclick: (ev) => { ev.preventDefault(); seek(sl.time[0]); } }, span(sl.time));
}

function slotView(sl) {
  if (sl.type === "video" || sl.type === "audio")
    return h("div", { class: "slot" }, h("div", { class: "muted" },
      `slot ${sl.index} · ${sl.type} file · ${sl.mime || "?"}` + (sl.width ? ` · ${sl.width}×${sl.height}` : "") + ` · ${sl.media_id.slice(0, 12)}…`));
  if (sl.type === "image")
    return h("div", { class: sl.time ? "slot keyframe" : "slot" }, h("img", { src: mediaUrl(sl.media_id), alt: `slot ${sl.index}` }),
      h("div", { class: "muted" }, timeLink(sl), sl.time ? " · " : "", `slot ${sl.index} · ${sl.mime || "?"} · ${sl.width}×${sl.height} · ${sl.media_id.slice(0, 12)}…`));
  return h("div", { class: sl.time ? "slot line" : "slot" }, h("p", {}, sl.text),
    h("div", { class: "muted" }, timeLink(sl), sl.time ? " · " : "", `slot ${sl.index}` + (sl.lang ? ` · ${sl.lang}` : "")));
}

// A clip, video or sound: the player (from the clip's start), then its keyframes in a row
// and its timed lines (subtitles, transcript, sound labels) in time order.
function timedView(s) {
  const frames = s.slots.filter((sl) => sl.type === "image" && sl.time);
  const lines = s.slots.filter((sl) => sl.type === "text" && sl.time).sort((a, b) => a.time[0] - b.time[0]);
  return h("section", { class: "timed" },
    h("div", { class: "player-box" }, player(s.play),
      h("p", { class: "muted" }, `${s.kind} · plays ${span([s.play.start, s.play.end])}`)),
    frames.length ? h("div", { class: "keyframes" }, ...frames.map((sl) =>
      h("a", { href: "#", title: span(sl.time), onclick: (ev) => { ev.preventDefault(); seek(sl.time[0]); } },
        h("img", { src: mediaUrl(sl.media_id, 256), alt: `keyframe at ${span(sl.time)}` }),
        h("span", {}, span(sl.time))))) : null,
    lines.length ? h("ol", { class: "transcript" }, ...lines.map((sl) =>
      h("li", {}, timeLink(sl), " ", sl.text))) : null);
}

function pagesView(pages) {
  return h("section", { class: "pages", id: "pages" },
    h("h3", {}, `${pages.length} page${pages.length === 1 ? "" : "s"}`),
    h("ol", { class: "page-list" }, ...pages.map((p) =>
      h("li", { class: "page", "data-id": p.id },
        h("a", { class: "page-thumb", href: sampleHref(p.id) },
          p.image ? h("img", { src: mediaUrl(p.image, 256), alt: `page ${(p.position ?? 0) + 1}`, loading: "lazy" })
            : h("div", { class: "noimg" }, "no image")),
        h("div", {},
          h("a", { href: sampleHref(p.id) }, `Page ${(p.position ?? 0) + 1}`),
          h("p", { class: "page-text" }, p.caption || h("span", { class: "muted" }, "(no text)")))))));
}

function lineageView(s) {
  return h("ol", { class: "lineage" }, ...s.lineage.map((e) =>
    h("li", {}, h("span", { class: e.what.startsWith("dropped") ? "rejected" : "" }, e.what),
      h("div", { class: "muted" }, `${e.command} · run ${e.run_id}` + (e.at ? ` · ${new Date(e.at).toLocaleString()}` : "")))));
}

export async function showSample(id) {
  const s = await call(samplePath(id));
  const rejected = s.status === "rejected";
  const up = s.parent
    ? h("p", {}, s.kind === "clip" ? "Clip " : "Page ", String((s.position ?? 0) + 1), " of ", h("a", { href: sampleHref(s.parent) }, s.parent))
    : null;
  $("#view").replaceChildren(
    h("p", {}, h("a", { href: "#/" }, "‹ back to search")),
    h("h2", {}, s.id, " ", h("span", { class: rejected ? "tag bad" : "tag" }, rejected ? "rejected" : "in corpus")),
    ...(up ? [up] : []),
    h("div", { class: "sample" },
      h("div", { class: "slots" }, s.play ? timedView(s) : null, ...s.slots.map(slotView),
        s.pages && s.pages.length ? pagesView(s.pages) : null),
      h("div", {},
        h("div", { class: "panel", id: "lineage" }, h("h3", {}, rejected ? "Why was this dropped?" : "Lineage"), lineageView(s)),
        h("div", { class: "panel" }, h("button", { type: "button", id: "more-like", onclick: () => moreLike(s.id) }, "More like this")),
        h("div", { class: "panel" }, h("h3", {}, "Source"), kvTable(s.source)),
        h("div", { class: "panel" }, h("h3", {}, "Stats"), kvTable(s.stats)),
        h("div", { class: "panel" }, h("h3", {}, "Meta"), kvTable(s.meta)))));
}
