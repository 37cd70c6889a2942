// wallboard.js : the supervisor's wallboard. Reads GET /api/wallboard/stream
// (Server-Sent Events: a snapshot, then queue, agent and hours updates) with the
// supervisor's token (kept for this tab only), read through fetch() so that the
// token goes in the Authorization header; when the stream cannot be had (refused,
// cut, silent past two heartbeats) it asks GET /api/wallboard every second and
// tries the stream again every few seconds. Draws the queue tiles, the agent grid
// and today's chart (SVG, drawn here), counts the clocks on between updates, and
// sets an agent's state from the grid. A daemon restart or a network loss shows
// as "reconnecting" until the daemon answers again; a new day shows the new day.
"use strict";

const POLL_MS = 1000;
const ANSWER_MS = 3000;  // an answer slower than this counts as a lost connection
const SILENT_MS = 35000; // a stream with nothing (not even a heartbeat) for this long is cut
const RETRY_MS = 5000;   // polling this long before the stream is tried again
const SVG = "http://www.w3.org/2000/svg";
let token = sessionStorage.getItem("wallboard-token") || "";
let snap = null;      // the last snapshot, with the updates since applied
let gotAt = {};       // "q:NAME" / "a:ID" -> performance.now() when its figures came
let streamCtl = null; // aborts the stream being read
let running = 0;      // bumped by logout: a loop from before stops
const chosen = {}; // agent -> the state picked in its row, kept across redraws

function $(id) { return document.getElementById(id); }

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text; // never innerHTML: names come from outside
  return e;
}

function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  return e;
}

function pct(v) { return v === null || v === undefined ? "–" : Math.round(v * 100) + " %"; }

function dur(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return (h ? h + ":" + String(m).padStart(2, "0") : m) + ":" + String(r).padStart(2, "0");
}

function status(text, down) {
  const s = $("status");
  s.textContent = text;
  s.className = "status" + (down ? " down" : "");
}

// A tile's colour: red when service level is under 60 % or a caller waits past the SLA, amber under 80 %.
function level(q, slaMs) {
  if ((q.service_level !== null && q.service_level < 0.6) || q.longest_wait_ms > slaMs) return "bad";
  if ((q.service_level !== null && q.service_level < 0.8) || q.waiting > 0) return "warn";
  return "ok";
}

function tiles(snap) {
  const box = $("tiles");
  box.replaceChildren();
  for (const q of snap.queues) {
    const t = el("div", {class: "tile " + level(q, snap.sla_seconds * 1000), "data-queue": q.queue || ""});
    t.appendChild(el("h3", {}, q.queue || "(no queue)"));
    const dl = el("dl");
    const longest = q.waiting > 0 ? q.longest_wait_ms + since("q:" + (q.queue || "")) : q.longest_wait_ms;
    const rows = [["Waiting", q.waiting, "waiting"], ["Longest wait", dur(longest), "longest"],
                  ["Offered", q.offered, "offered"], ["Answered", q.answered, "answered"],
                  ["Abandoned", q.abandoned, "abandoned"], ["Service level", pct(q.service_level), "sl"]];
    for (const [label, value, key] of rows) {
      dl.appendChild(el("dt", {}, label));
      dl.appendChild(el("dd", {"data-k": key}, String(value)));
    }
    t.appendChild(dl);
    box.appendChild(t);
  }
}

function chart(snap) {
  const c = $("chart"), W = 960, H = 260, L = 40, B = 30, T = 10, R = 40;
  c.replaceChildren();
  const hours = snap.hours;
  const max = Math.max(1, ...hours.map(h => h.offered));
  const slot = (W - L - R) / 24;
  const y = v => H - B - (H - B - T) * v / max;
  const ySl = v => H - B - (H - B - T) * v;
  c.appendChild(svg("line", {x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: "#55606d"}));
  c.appendChild(svg("text", {x: L - 6, y: T + 10, fill: "#9fb0c2", "font-size": 11, "text-anchor": "end"}, String(max)));
  c.appendChild(svg("text", {x: W - R + 6, y: T + 10, fill: "#e0b43a", "font-size": 11}, "100%"));
  const pts = [];
  for (const h of hours) {
    const hour = parseInt(h.start.slice(11, 13), 10);
    const x = L + hour * slot;
    c.appendChild(svg("rect", {x: x + 2, y: y(h.offered), width: slot / 2 - 2, height: H - B - y(h.offered),
                               fill: "#5b7fa6", class: "bar-offered", "data-hour": hour}));
    c.appendChild(svg("rect", {x: x + slot / 2, y: y(h.answered), width: slot / 2 - 2,
                               height: H - B - y(h.answered), fill: "#3fbf6f", class: "bar-answered",
                               "data-hour": hour}));
    if (h.service_level !== null) {
      pts.push((x + slot / 2) + "," + ySl(h.service_level));
      c.appendChild(svg("circle", {cx: x + slot / 2, cy: ySl(h.service_level), r: 3, fill: "#e0b43a",
                                   class: "sl-point", "data-hour": hour}));
    }
  }
  for (let hour = 0; hour < 24; hour += 3)
    c.appendChild(svg("text", {x: L + hour * slot + slot / 2, y: H - 10, fill: "#9fb0c2", "font-size": 11,
                               "text-anchor": "middle"}, String(hour).padStart(2, "0")));
  if (pts.length)
    c.appendChild(svg("polyline", {points: pts.join(" "), fill: "none", stroke: "#e0b43a", "stroke-width": 2,
                                   class: "sl-line"}));
}

async function setState(agent, state) {
  const r = await fetch("/api/agents/" + encodeURIComponent(agent) + "/state", {
    method: "POST",
    headers: {"Authorization": "Bearer " + token, "Content-Type": "application/json"},
    body: JSON.stringify({state: state}),
  });
  if (!r.ok) status("could not set " + agent + "'s state (" + r.status + ")", true);
  if (!streamCtl) poll(); // a stream brings the change by itself
}

function agents(snap) {
  const body = $("agents").tBodies[0];
  body.replaceChildren();
  for (const a of snap.agents) {
    const tr = el("tr", {"data-agent": a.id});
    tr.appendChild(el("td", {}, a.name ? a.name + " (" + a.id + ")" : a.id));
    tr.appendChild(el("td", {class: a.state, "data-k": "state"}, a.state));
    tr.appendChild(el("td", {"data-k": "reason"}, a.reason || ""));
    const more = since("a:" + a.id);
    tr.appendChild(el("td", {"data-k": "since"}, a.since ? dur(a.in_state_ms + more) : "–"));
    tr.appendChild(el("td", {"data-k": "call"},
                      a.call ? a.call.call_id + (a.call.queue ? " (" + a.call.queue + ") " : " ") +
                               dur(a.call.duration_ms + more) : ""));
    const td = el("td");
    const sel = el("select", {"aria-label": "state of " + a.id});
    for (const s of ["ready", "not_ready", "logged_out"]) sel.appendChild(el("option", {value: s}, s));
    if (chosen[a.id]) sel.value = chosen[a.id];
    sel.addEventListener("change", () => { chosen[a.id] = sel.value; });
    const go = el("button", {type: "button"}, "Set");
    go.addEventListener("click", () => { delete chosen[a.id]; setState(a.id, sel.value); });
    td.append(sel, go);
    tr.appendChild(td);
    body.appendChild(tr);
  }
}

// Milliseconds since the figures of key came: the page counts clocks on by itself.
function since(key) { return gotAt[key] === undefined ? 0 : performance.now() - gotAt[key]; }

function stamp(s) {
  const t = performance.now();
  gotAt = {};
  for (const q of s.queues) gotAt["q:" + (q.queue || "")] = t;
  for (const a of s.agents) gotAt["a:" + a.id] = t;
}

function draw(how) {
  if (!snap) return;
  $("day").textContent = snap.date + " (" + snap.tz + ")";
  tiles(snap);
  chart(snap);
  agents(snap);
  if (how) {
    const s = $("status");
    s.dataset.mode = how;
    status((how === "stream" ? "live, " : "polling, ") + new Date().toTimeString().slice(0, 8));
  }
}

function refused(r) {
  if (r.status !== 401 && r.status !== 403) return false;
  logout(r.status === 403 ? "this token may not see the wallboard" : "the token was refused");
  return true;
}

// One update from the stream: a whole snapshot, or one queue, one agent, or the hours.
function apply(type, data) {
  const t = performance.now();
  if (type === "snapshot") {
    snap = data;
    stamp(snap);
  } else if (!snap) {
    return;
  } else if (type === "queue" || type === "agent") {
    const list = type === "queue" ? snap.queues : snap.agents;
    const key = type === "queue" ? "queue" : "id";
    const i = list.findIndex(x => x[key] === data[key]);
    if (i >= 0) list[i] = data;
    else list.push(data);
    if (type === "queue") list.sort((x, y) => (x.queue || "").localeCompare(y.queue || ""));
    gotAt[(type === "queue" ? "q:" + (data.queue || "") : "a:" + data.id)] = t;
  } else if (type === "hours") {
    snap.hours = data.hours;
  }
  draw("stream");
}

// Reads the stream until it ends, fails or goes silent; resolves true when it delivered anything.
async function stream(gen) {
  const ctl = new AbortController();
  // The answer and its snapshot come within ANSWER_MS (a daemon that is down may leave the connection
  // waiting in its listener's backlog); after that, silence is allowed up to SILENT_MS.
  let silent = setTimeout(() => ctl.abort(), ANSWER_MS), any = false;
  streamCtl = ctl;
  try {
    const r = await fetch("/api/wallboard/stream", {
      headers: {"Authorization": "Bearer " + token, "Accept": "text/event-stream"}, cache: "no-store",
      signal: ctl.signal});
    if (refused(r) || !r.ok) return false;
    const reader = r.body.getReader(), dec = new TextDecoder();
    let buf = "";
    while (gen === running) {
      const {value, done} = await reader.read();
      if (done) break;
      clearTimeout(silent);
      silent = setTimeout(() => ctl.abort(), SILENT_MS);
      buf += dec.decode(value, {stream: true});
      let end;
      while ((end = buf.indexOf("\n\n")) >= 0) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 2);
        let type = "message", data = "";
        for (const line of block.split("\n")) {
          if (line.startsWith("event: ")) type = line.slice(7);
          else if (line.startsWith("data: ")) data += line.slice(6);
        }
        if (data) {
          apply(type, JSON.parse(data));
          any = true;
        }
      }
    }
  } catch (e) {
    // cut, refused or silent: the caller polls
  } finally {
    clearTimeout(silent);
    if (streamCtl === ctl) streamCtl = null;
    ctl.abort();
  }
  if (any && gen === running) {
    status("reconnecting…", true);
    $("status").dataset.mode = "down";
  }
  return any;
}

// One GET /api/wallboard: the fallback while the stream cannot be had.
async function poll() {
  try {
    const ctl = new AbortController();
    const limit = setTimeout(() => ctl.abort(), ANSWER_MS);
    const r = await fetch("/api/wallboard", {headers: {"Authorization": "Bearer " + token}, cache: "no-store",
                                             signal: ctl.signal}).finally(() => clearTimeout(limit));
    if (refused(r)) return;
    if (!r.ok) throw new Error("HTTP " + r.status);
    snap = await r.json();
    stamp(snap);
    draw("poll");
  } catch (e) {
    status("reconnecting…", true);
    $("status").dataset.mode = "down";
  }
}

const sleep = ms => new Promise(done => setTimeout(done, ms));

async function run() {
  const gen = ++running;
  while (gen === running && token) {
    if (await stream(gen)) {
      await sleep(500); // it ended after it worked: again soon, never in a tight loop
    } else if (gen === running && token) {
      for (const end = performance.now() + RETRY_MS; gen === running && token && performance.now() < end;) {
        await poll();
        await sleep(POLL_MS);
      }
    }
  }
}

// The clocks (time in state, call duration, longest wait) move every second between updates, in place:
// the rest of the page is redrawn only when something changed.
function tick() {
  if (!streamCtl || !snap) return;
  for (const q of snap.queues) {
    const dd = document.querySelector('.tile[data-queue="' + CSS.escape(q.queue || "") + '"] dd[data-k="longest"]');
    if (dd && q.waiting > 0) dd.textContent = dur(q.longest_wait_ms + since("q:" + (q.queue || "")));
  }
  for (const a of snap.agents) {
    const tr = document.querySelector('tr[data-agent="' + CSS.escape(a.id) + '"]');
    if (!tr) continue;
    const more = since("a:" + a.id);
    if (a.since) tr.querySelector('td[data-k="since"]').textContent = dur(a.in_state_ms + more);
    if (a.call)
      tr.querySelector('td[data-k="call"]').textContent =
          a.call.call_id + (a.call.queue ? " (" + a.call.queue + ") " : " ") + dur(a.call.duration_ms + more);
  }
}
setInterval(tick, 1000);

function show(board) {
  $("login").hidden = board;
  $("board").hidden = !board;
  $("logout").hidden = !board;
}

function logout(why) {
  running++;
  if (streamCtl) streamCtl.abort();
  token = "";
  sessionStorage.removeItem("wallboard-token");
  $("login-error").textContent = why || "";
  status("not connected");
  show(false);
}

$("login").addEventListener("submit", ev => {
  ev.preventDefault();
  token = $("token").value.trim();
  sessionStorage.setItem("wallboard-token", token);
  $("login-error").textContent = "";
  show(true);
  run();
});
$("logout").addEventListener("click", () => logout(""));
if (token) { show(true); run(); }
