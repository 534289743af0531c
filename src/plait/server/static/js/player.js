// Clips, videos and sounds: an HTML5 player that starts at the clip's start time and stops
// at its end. The media URL carries a W3C media fragment (#t=start,end), and currentTime is
// also set once the metadata is in, for players that ignore fragments. The server answers
// byte-range requests, so seeking never downloads the whole file.
import { mediaUrl } from "./api.js";
import { h } from "./dom.js";

export const secs = (t) => (t >= 60 ? `${Math.floor(t / 60)}:${(t % 60).toFixed(2).padStart(5, "0")}` : `${t.toFixed(2)} s`);
export const span = (t) => (t && t.length === 2 ? (t[0] === t[1] ? secs(t[0]) : `${secs(t[0])} – ${secs(t[1])}`) : "");

// `play`: {media, kind: "video"|"audio", start, end}; `from`: where to start (default start).
export function player(play, from) {
  const start = from ?? play.start;
  const el = h(play.kind === "audio" ? "audio" : "video", {
    id: "player", controls: true, preload: "metadata", playsinline: true,
    src: `${mediaUrl(play.media)}#t=${start},${play.end}`,
    "data-start": String(start), "data-end": String(play.end),
  });
  el.addEventListener("loadedmetadata", () => { if (Math.abs(el.currentTime - start) > 0.05) el.currentTime = start; }, { once: true });
  el.addEventListener("timeupdate", () => { if (el.currentTime >= play.end && !el.paused) el.pause(); });
  return el;
}

// Jump the page's player to `t` seconds and play from there.
export function seek(t) {
  const el = document.getElementById("player");
  if (!el) return;
  el.currentTime = t;
  el.play().catch(() => {});
}
