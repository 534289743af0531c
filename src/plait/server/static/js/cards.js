// A result card: one image, the caption nearest the match, score parts, a few tags; a
// clip or a sound also says where in its file the match is.
import { mediaUrl, sampleHref } from "./api.js";
import { fmt, h } from "./dom.js";
import { span } from "./player.js";

const MAX_LANG_TAGS = 3; // more than this reads as a count ("70 languages")

function langTags(langs) {
  if (langs.length <= MAX_LANG_TAGS) return langs.map((l) => h("span", { class: "tag" }, l));
  return [h("span", { class: "tag langs", title: langs.join(", ") }, `${langs.length} languages`)];
}

function pageLabel(page) {
  return page.position === null || page.position === undefined ? page.id : `page ${page.position + 1}`;
}

// `s`: a sample summary, with `hit` for a search result. A document rolled up from its
// pages shows its best matching page: that page's image and text, and how many matched.
export function card(s, onMoreLike) {
  const page = s.hit && s.hit.page;
  const shown = page || s;
  const img = shown.image
    ? h("img", { src: mediaUrl(shown.image, 256), alt: shown.caption || s.id, loading: "lazy" })
    : h("div", { class: "noimg" }, s.kind === "audio" ? "♪ sound" : s.kind);
  // a clip or sound: where in the file (the matched line's span, else its own range)
  const when = (s.hit && s.hit.time) || s.time;
  const timed = when ? h("p", { class: "when" }, s.kind === "clip" ? "▶ " : "", span(when)) : null;
  const parts = s.hit
    ? h("div", { class: "parts", title: "score parts" }, `score ${fmt(s.hit.score)}`,
        ...Object.entries(s.hit.parts).filter(([k]) => !k.endsWith("_rank")).map(([k, v]) => ` · ${k} ${fmt(v)}`))
    : null;
  const matched = page
    ? h("p", { class: "matched" }, h("a", { href: sampleHref(page.id) }, pageLabel(page)),
        s.hit.pages.length > 1 ? ` · ${s.hit.pages.length} pages match` : "")
    : null;
  const caption = shown.caption;
  return h("article", { class: "card", "data-id": s.id },
    h("a", { class: "thumb", href: sampleHref(page ? page.id : s.id) }, img),
    h("div", { class: "body" },
      page && s.caption ? h("p", { class: "doc-title" }, s.caption) : null,
      matched,
      timed,
      h("p", { class: "caption", title: caption }, caption || h("span", { class: "muted" }, "(no text)")),
      parts,
      h("div", { class: "tags" }, h("span", { class: "tag" }, s.kind), h("span", { class: "tag" }, s.dataset),
        h("span", { class: "tag" }, s.licence), ...langTags(s.langs || [])),
      h("div", { class: "actions" }, h("a", { href: sampleHref(s.id) }, "open"),
        h("a", { href: "#/", class: "more", onclick: (ev) => { ev.preventDefault(); onMoreLike(s.id); } }, "more like this"))));
}
