/* console.js : the agent console: login, the SSE stream of pops, call states
 * and the agent's state, one wrap-up draft per call, pending wrap-ups, the
 * candidates and new-customer forms. Data from the daemon only ever goes into
 * the page through textContent (and vetted http/https hrefs), never as markup. */
"use strict";

(function () {
  var AGENT_KEY = "callogd.agent";   /* the last agent ID, to fill in the form */
  var ACTIVE_KEY = "callogd.active"; /* "1" while logged in, so a reload goes straight to the console */
  var DRAFTS_KEY = "callogd.drafts."; /* + agent: {call_id: {code, notes, name, number, direction}} */
  var SEEN_MAX = 2000, CALLS_MAX = 50, DATA_ROWS_MAX = 200, DRAFTS_MAX = 100;

  var S = {
    agent: null,
    es: null,
    retryTimer: null,
    retryDelay: 2000,
    wasConnected: false,  /* the stream was up once: a break now is a reconnect */
    calls: new Map(),     /* call_id -> call view, in arrival order */
    current: null,        /* the call whose card is shown */
    wrap: null,           /* the call the wrap-up form belongs to */
    wrapShown: null,      /* the call whose draft the form fields hold */
    pending: new Map(),   /* call_id -> {call_id, name, number, direction, ended_at} */
    codes: [],
    numbers: { country_code: "", national_prefix: "" },
    seen: new Set(),
    seenOrder: [],
    audio: null,
    ringTimer: null
  };
  /* Pop-to-DOM times for bench/pop_browser.py: call_id -> ms (epoch, sub-ms). */
  window.callogdPopSeen = new Map();

  function $(id) { return document.getElementById(id); }

  function el(tag, props, children) {
    var n = document.createElement(tag);
    if (props) {
      Object.keys(props).forEach(function (k) {
        if (k === "className") n.className = props[k];
        else n.setAttribute(k, props[k]);
      });
    }
    if (children !== undefined && children !== null) {
      (Array.isArray(children) ? children : [children]).forEach(function (c) {
        n.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
      });
    }
    return n;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function show(id, on) { $(id).hidden = !on; }
  function setText(id, value, fallback) {
    $(id).textContent = value === null || value === undefined || value === "" ?
      (fallback === undefined ? "—" : fallback) : String(value);
  }
  function message(id, kind, text) {
    var m = $(id);
    m.className = "msg " + (kind === "ok" ? "msg-ok" : kind === "error" ? "msg-error" : "msg-info");
    m.textContent = text || "";
    m.hidden = !text;
  }
  function label(code) { return String(code || "").replace(/_/g, " "); }
  function now() { return performance.timeOrigin + performance.now(); }

  function when(iso) {
    if (!iso) return "—";
    var d = new Date(iso);
    if (isNaN(d.getTime())) return String(iso);
    var o = { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" };
    if (d.getFullYear() !== new Date().getFullYear()) o.year = "numeric";
    return d.toLocaleString([], o);
  }
  function clock(ms) {
    var s = Math.max(0, Math.floor(ms / 1000)), h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60;
    s %= 60;
    return (h ? h + ":" + (m < 10 ? "0" : "") : "") + m + ":" + (s < 10 ? "0" : "") + s;
  }

  /* A number of the country's own in national format; others as they are. */
  function national(e164) {
    var cc = S.numbers.country_code, np = S.numbers.national_prefix || "";
    if (!e164 || e164.charAt(0) !== "+" || !cc || e164.indexOf("+" + cc) !== 0) return e164 || "";
    var rest = e164.slice(1 + cc.length);
    if (cc === "1" && rest.length === 10)
      return "(" + rest.slice(0, 3) + ") " + rest.slice(3, 6) + "-" + rest.slice(6);
    if (cc === "1") return e164;
    var groups = rest.length > 7 ? [rest.slice(0, rest.length - 7), rest.slice(-7, -4), rest.slice(-4)]
      : [rest.slice(0, rest.length - 4), rest.slice(-4)];
    return (np + groups.filter(Boolean).join(" ")).trim();
  }

  /* ---- HTTP ---- */

  function api(method, path, body) {
    var opts = { method: method, credentials: "same-origin", headers: {} };
    if (method === "POST") {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body === undefined ? {} : body);
    }
    return fetch(path, opts).then(function (r) {
      return r.text().then(function (t) {
        var j = null;
        try { j = t ? JSON.parse(t) : null; } catch (e) { j = null; }
        return { status: r.status, ok: r.ok, body: j };
      });
    });
  }
  function errorText(res, fallback) {
    var b = res.body || {};
    if (b.message) return b.message;
    if (b.error) return label(b.error);
    if (b.code) return label(b.code);
    return fallback + " (HTTP " + res.status + ")";
  }
  function agentPath(rest) { return "/api/agents/" + encodeURIComponent(S.agent) + rest; }

  /* ---- storage ---- */

  function store(key, value) {
    try {
      if (value === null) localStorage.removeItem(key);
      else localStorage.setItem(key, value);
    } catch (e) { /* storage off: drafts live as long as the page */ }
  }
  function stored(key) {
    try { return localStorage.getItem(key); } catch (e) { return null; }
  }
  var memDrafts = {};
  function drafts() {
    var raw = stored(DRAFTS_KEY + S.agent), d = null;
    try { d = raw ? JSON.parse(raw) : null; } catch (e) { d = null; }
    return d && typeof d === "object" ? d : memDrafts;
  }
  function saveDrafts(d) {
    var ids = Object.keys(d);
    while (ids.length > DRAFTS_MAX) delete d[ids.shift()];
    memDrafts = d;
    store(DRAFTS_KEY + S.agent, JSON.stringify(d));
  }
  function draftOf(id) { return id ? drafts()[id] || null : null; }
  function hasInput(id) {
    var d = draftOf(id);
    return !!(d && (d.code || (d.notes && d.notes.trim())));
  }

  /* ---- login and logout ---- */

  function showLogin(note) {
    stopStream();
    store(ACTIVE_KEY, null);
    S.agent = null;
    stopRinging();
    show("session", false);
    show("console", false);
    show("conn-banner", false);
    show("login", true);
    var last = stored(AGENT_KEY);
    if (last && !$("login-agent").value) $("login-agent").value = last;
    if (note) message("login-error", "info", note);
    else show("login-error", false);
    ($("login-agent").value ? $("login-token") : $("login-agent")).focus();
  }

  function resetCalls() {
    S.calls.clear();
    S.pending.clear();
    S.current = S.wrap = S.wrapShown = null;
  }

  function showConsole(agent) {
    S.agent = agent;
    memDrafts = {};
    $("agent-id").textContent = agent;
    show("login", false);
    show("session", true);
    show("console", true);
    renderAll();
    loadSettings().then(resync);
    startStream();
  }

  /* A user gesture: the moment the browser lets the page make sound and ask to notify. */
  function unlockAlerts() {
    var AC = window.AudioContext || window.webkitAudioContext;
    if (!S.audio && AC) {
      try { S.audio = new AC(); } catch (e) { S.audio = null; }
    }
    if (S.audio && S.audio.state === "suspended") S.audio.resume();
    if ("Notification" in window && Notification.permission === "default") {
      try { Notification.requestPermission(); } catch (e) { /* old API: ignore */ }
    }
  }

  function onLogin(ev) {
    ev.preventDefault();
    unlockAlerts();
    var agent = $("login-agent").value.trim(), token = $("login-token").value.trim();
    if (!agent || !token) {
      message("login-error", "error", "Enter your agent ID and token.");
      return;
    }
    $("login-submit").disabled = true;
    api("POST", "/api/login", { agent: agent, token: token }).then(function (res) {
      $("login-submit").disabled = false;
      if (!res.ok) {
        message("login-error", "error", res.status === 401 ? "Unknown agent or wrong token." : errorText(res, "Login failed"));
        $("login-token").select();
        return;
      }
      $("login-token").value = "";
      store(AGENT_KEY, agent);
      store(ACTIVE_KEY, "1");
      resetCalls();
      showConsole(agent);
    }, function () {
      $("login-submit").disabled = false;
      message("login-error", "error", "Cannot reach the server. Try again.");
    });
  }

  function onLogout() {
    stopStream();
    api("POST", "/api/logout").catch(function () { return null; }).then(function () {
      resetCalls();
      showLogin("You are logged out.");
    });
  }

  function sessionEnded() { showLogin("Your session has ended. Please log in again."); }

  /* ---- what the server knows: codes, numbering, the agent's state, pending wrap-ups ---- */

  function loadSettings() {
    return api("GET", "/api/dispositions").then(function (res) {
      if (res.status === 401) return sessionEnded();
      if (!res.ok || !res.body) return;
      S.codes = Array.isArray(res.body.codes) ? res.body.codes : [];
      if (res.body.numbers) S.numbers = res.body.numbers;
      var sel = $("wrapup-code");
      clear(sel);
      sel.appendChild(el("option", { value: "" }, "Choose…"));
      S.codes.forEach(function (c) { sel.appendChild(el("option", { value: c }, label(c))); });
      S.wrapShown = null;
      renderAll();
    }, function () { /* offline: the stream's retry brings us back here */ });
  }

  /* After a load or a reconnect: the state and pending wrap-ups as the server has them. */
  function resync() {
    if (!S.agent) return;
    api("GET", agentPath("")).then(function (res) {
      if (res.status === 401) return sessionEnded();
      if (res.ok && res.body) showState(res.body.state, res.body.reason, res.body.since);
    }, function () {});
    api("GET", agentPath("/pending")).then(function (res) {
      if (!res.ok || !res.body || !Array.isArray(res.body.calls)) return;
      var d = drafts();
      S.pending.clear();
      res.body.calls.forEach(function (p) { S.pending.set(p.call_id, p); });
      /* Drafts of calls the server no longer waits for were saved elsewhere: drop them. */
      Object.keys(d).forEach(function (id) {
        if (!S.pending.has(id) && !(S.calls.get(id) && S.calls.get(id).mine)) delete d[id];
      });
      saveDrafts(d);
      if (!S.wrap || !S.pending.has(S.wrap) && !(S.calls.get(S.wrap) && S.calls.get(S.wrap).mine)) S.wrap = nextWrap();
      renderAll();
    }, function () {});
  }

  function showState(state, reason, since) {
    var sel = $("state-select");
    S.state = state || "logged_out";
    sel.value = S.state;
    $("state-dot").dataset.state = S.state;
    show("state-reason", S.state === "not_ready");
    if (S.state === "not_ready" && reason) {
      if (!Array.prototype.some.call($("state-reason").options, function (o) { return o.value === reason; }))
        $("state-reason").appendChild(el("option", { value: reason }, label(reason)));
      $("state-reason").value = reason;
    }
    setText("state-since", since ? "since " + new Date(since).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "", "");
  }

  function postState() {
    var body = { state: $("state-select").value };
    if (body.state === "not_ready") body.reason = $("state-reason").value;
    show("state-reason", body.state === "not_ready");
    api("POST", agentPath("/state"), body).then(function (res) {
      if (res.status === 401) return sessionEnded();
      if (res.ok) {
        show("state-result", false);
        showState(body.state, body.reason, new Date().toISOString());
      } else {
        message("state-result", "error", "State not changed: " + errorText(res, "error"));
        showState(S.state);
      }
    }, function () {
      message("state-result", "error", "State not changed: cannot reach the server.");
      showState(S.state);
    });
  }

  /* ---- the stream ---- */

  function setConn(kind, text) {
    var c = $("conn-status");
    c.className = "conn conn-" + kind;
    c.textContent = text;
    var lost = kind === "offline" || (kind === "connecting" && !!S.wasConnected);
    show("conn-banner", lost);
    setText("pop-empty-text", lost ? "Reconnecting — calls that ring now may not show." : "Waiting for calls…");
  }

  function stopStream() {
    if (S.retryTimer) { clearTimeout(S.retryTimer); S.retryTimer = null; }
    if (S.es) { S.es.close(); S.es = null; }
  }

  function startStream() {
    stopStream();
    if (!S.agent) return;
    setConn("connecting", S.wasConnected ? "Reconnecting…" : "Connecting…");
    var es = new EventSource(agentPath("/stream"));
    S.es = es;
    es.onopen = function () {
      S.retryDelay = 2000;
      var again = S.wasConnected;
      S.wasConnected = true;
      setConn("connected", "Connected");
      /* Again a little later: a change committed while the stream was coming up is not missed. */
      if (again) { resync(); setTimeout(resync, 1500); }
    };
    es.addEventListener("pop", function (ev) { onMessage(ev, onPop); });
    es.addEventListener("call", function (ev) { onMessage(ev, onCall); });
    es.addEventListener("state", function (ev) {
      onMessage(ev, function (m) { showState(m.state, m.reason, new Date().toISOString()); });
    });
    es.onerror = function () {
      if (S.es !== es) return;
      if (es.readyState === EventSource.CLOSED) {
        es.close();
        S.es = null;
        probe();
      } else {
        setConn("connecting", "Reconnecting…");
      }
    };
  }

  function probe() {
    setConn("offline", "Offline — retrying");
    var ctl = typeof AbortController === "function" ? new AbortController() : null;
    fetch(agentPath("/stream"), { credentials: "same-origin", signal: ctl ? ctl.signal : undefined }).then(function (r) {
      if (ctl) ctl.abort();
      if (r.status === 401 || r.status === 403) sessionEnded();
      else retryLater();
    }, function () { retryLater(); });
  }

  function retryLater() {
    if (!S.agent || S.retryTimer) return;
    S.retryTimer = setTimeout(function () {
      S.retryTimer = null;
      startStream();
    }, S.retryDelay);
    S.retryDelay = Math.min(S.retryDelay * 2, 15000);
  }

  function onMessage(ev, handler) {
    var id = ev.lastEventId, m;
    if (id) {
      if (S.seen.has(id)) return; /* a replay of something already shown */
      S.seen.add(id);
      S.seenOrder.push(id);
      if (S.seenOrder.length > SEEN_MAX) S.seen.delete(S.seenOrder.shift());
    }
    try { m = JSON.parse(ev.data); } catch (e) { return; }
    if (m && typeof m === "object") handler(m);
  }

  /* ---- calls ---- */

  function customerOf(c) { return c.pop.customer || null; }
  function numberOf(p) {
    if (p.number_status === "none") return "";
    return (p.direction === "outbound" ? p.to : p.from) || "";
  }
  function whoOf(c) {
    var cu = customerOf(c), n = numberOf(c.pop);
    return cu && cu.name ? cu.name : n ? national(n) : "No caller ID";
  }

  function onPop(p) {
    if (typeof p.call_id !== "string") return;
    var c = S.calls.get(p.call_id), fresh = !c || c.state === "retracted";
    if (!c) {
      c = { pop: p, state: "ringing", ringAt: now(), mine: false, holdMs: 0 };
      S.calls.set(p.call_id, c);
      while (S.calls.size > CALLS_MAX) {
        var oldest = S.calls.keys().next().value;
        if (oldest === S.current || oldest === S.wrap) break;
        S.calls.delete(oldest);
      }
    }
    c.pop = p;
    if (fresh && c.state === "retracted") { c.state = "ringing"; c.ringAt = now(); c.note = null; }
    if (fresh) {
      S.current = p.call_id;
      show("call-note", false);
    }
    if (S.current === p.call_id) renderCurrent();
    renderCalls();
    renderWrap();
    window.callogdPopSeen.set(p.call_id, now());
    if (window.callogdPopSeen.size > 1000) window.callogdPopSeen.delete(window.callogdPopSeen.keys().next().value);
    if (fresh && c.state === "ringing") startRinging(c);
    else updateRinging();
  }

  function onCall(m) {
    var c = S.calls.get(m.call_id);
    if (!c) return;
    var t = now();
    if (m.state === "retracted") {
      c.state = "retracted";
      c.note = "The call from " + whoOf(c) + " was answered elsewhere" + (m.agent ? " (agent " + m.agent + ")" : "") + ".";
    } else if (m.state === "answered") {
      c.state = "answered";
      if (!m.agent || m.agent === S.agent) {
        c.mine = true;
        c.talkAt = c.talkAt || t;
        if (!S.wrap || !hasInput(S.wrap)) S.wrap = m.call_id;
      }
      c.note = null;
    } else if (m.state === "held") {
      c.state = "held";
      c.holdAt = t;
    } else if (m.state === "resumed") {
      if (c.holdAt) c.holdMs += t - c.holdAt;
      c.holdAt = null;
      c.state = "answered";
    } else if (m.state === "transferred") {
      c.note = "Transferred" + (m.to_agent ? " to agent " + m.to_agent : m.to ? " to " + national(m.to) : "") + ".";
      if (m.agent === S.agent) { c.state = "transferred"; partDone(c, t); }
    } else if (m.state === "ended") {
      c.state = "ended";
      c.note = "The call has ended" + (m.reason ? " (" + label(m.reason) + ")" : "") + "." + (c.mine ? " Enter the wrap-up." : "");
      partDone(c, t);
    } else {
      return;
    }
    updateRinging();
    if (S.current === m.call_id) renderCurrent();
    renderCalls();
    renderWrap();
  }

  /* The agent's part in c is over: its wrap-up is due. */
  function partDone(c, t) {
    if (c.holdAt) { c.holdMs += t - c.holdAt; c.holdAt = null; }
    c.endAt = t;
    if (!c.mine) return;
    S.pending.set(c.pop.call_id, {
      call_id: c.pop.call_id, direction: c.pop.direction, number: numberOf(c.pop),
      name: customerOf(c) ? customerOf(c).name : null, ended_at: new Date().toISOString()
    });
    if (!S.wrap || !hasInput(S.wrap)) S.wrap = c.pop.call_id;
  }

  /* ---- ringing: visible, audible, a notification ---- */

  function anyRinging() {
    var found = null;
    S.calls.forEach(function (c) { if (c.state === "ringing") found = c; });
    return found;
  }

  function beep() {
    var ctx = S.audio;
    document.body.dataset.beeps = String((parseInt(document.body.dataset.beeps || "0", 10) || 0) + 1);
    if (!ctx) return;
    if (ctx.state === "suspended") ctx.resume();
    [0, 0.35].forEach(function (at) {
      var o = ctx.createOscillator(), g = ctx.createGain(), t0 = ctx.currentTime + at;
      o.frequency.value = 880;
      g.gain.setValueAtTime(0.0001, t0);
      g.gain.exponentialRampToValueAtTime(0.2, t0 + 0.02);
      g.gain.exponentialRampToValueAtTime(0.0001, t0 + 0.25);
      o.connect(g);
      g.connect(ctx.destination);
      o.start(t0);
      o.stop(t0 + 0.3);
    });
  }

  function startRinging(c) {
    if (!S.audio) unlockAlerts();
    beep();
    if (!S.ringTimer) S.ringTimer = setInterval(function () { if (anyRinging()) beep(); else stopRinging(); }, 2500);
    document.body.dataset.ringing = "1";
    document.title = "Ringing: " + whoOf(c) + " — callogd";
    if ("Notification" in window && Notification.permission === "granted" && document.visibilityState !== "visible") {
      try {
        var n = new Notification("Incoming call: " + whoOf(c), { body: national(numberOf(c.pop)), tag: c.pop.call_id });
        n.onclick = function () { window.focus(); n.close(); };
      } catch (e) { /* notifications off */ }
    }
  }

  function stopRinging() {
    if (S.ringTimer) { clearInterval(S.ringTimer); S.ringTimer = null; }
    delete document.body.dataset.ringing;
    document.title = "callogd — agent console";
  }

  function updateRinging() { if (!anyRinging()) stopRinging(); }

  function tick() {
    var c = S.current ? S.calls.get(S.current) : null, t = now();
    if (!c) return;
    if (c.state === "ringing") setText("ring-timer", clock(t - c.ringAt));
    if (c.talkAt) {
      var end = c.endAt || t, hold = c.holdMs + (c.holdAt ? end - c.holdAt : 0);
      setText("talk-timer", clock(end - c.talkAt - hold));
      setText("hold-timer", clock(hold));
    }
  }

  /* ---- rendering ---- */

  var STATE_LABEL = {
    ringing: "Ringing", answered: "On call", held: "On hold", transferred: "Transferred", ended: "Ended",
    retracted: "Answered elsewhere"
  };

  function renderAll() {
    renderCurrent();
    renderCalls();
    renderWrap();
  }

  function renderCurrent() {
    var c = S.current ? S.calls.get(S.current) : null;
    show("pop-empty", !c);
    show("pop-body", !!c);
    show("ring-alert", !!c && c.state === "ringing");
    if (!c) { show("call-note", false); return; }
    var p = c.pop, out = p.direction === "outbound", cu = customerOf(c), n = numberOf(p);
    $("pop").dataset.callId = p.call_id;
    setText("ring-alert-text", (out ? "Outbound call: " : "Incoming call: ") + whoOf(c));
    var st = $("call-state");
    st.dataset.state = c.state;
    st.textContent = STATE_LABEL[c.state] || label(c.state);
    var dir = $("call-direction");
    dir.dataset.dir = out ? "outbound" : "inbound";
    dir.textContent = out ? "Outbound" : "Inbound";
    setText("call-queue", p.queue);
    setText("call-id", p.call_id);
    show("talk-timer-box", !!c.talkAt);
    show("hold-timer-box", !!c.talkAt && (c.holdMs > 0 || !!c.holdAt));
    if (c.note) message("call-note", c.state === "retracted" ? "error" : "info", c.note);
    else show("call-note", false);

    /* The name first, with tier and account; the number second, in national format. */
    setText("customer-name", cu ? cu.name || cu.id : p.number_status === "none" ? "No caller ID" : "Unknown caller");
    var tier = $("customer-tier");
    tier.hidden = !(cu && cu.tier);
    tier.textContent = cu && cu.tier ? cu.tier : "";
    tier.className = "tier" + (cu && cu.tier ? " tier-" + String(cu.tier).toLowerCase().replace(/[^a-z0-9-]/g, "") : "");
    setText("customer-account-head", cu && cu.account ? "Account " + cu.account : "", "");
    setText("caller-label", out ? "To" : "From", "");
    setText("caller-number", n ? national(n) : p.number_status === "none" ? "Number withheld" : "", "");
    setText("caller-e164", n && national(n) !== n ? n : "", "");
    setText("call-to-label", out ? "from" : "to", "");
    setText("call-to", national(out ? p.from : p.to));

    renderUnknown(c);
    renderCandidates(c);
    renderCustomer(c);
    renderHistory(c);
    renderData(p.data);
    tick();
  }

  function renderUnknown(c) {
    var p = c.pop, unknown = !p.customer;
    show("unknown-caller", unknown);
    if (!unknown) { show("newcust-form", false); return; }
    if (p.number_status === "none")
      setText("unknown-detail", "The number was withheld; no customer lookup was made.");
    else if (p.number_status === "invalid")
      setText("unknown-detail", "\u201c" + (numberOf(p) || "") + "\u201d is not a valid phone number; no lookup was made.");
    else
      setText("unknown-detail", "No customer record has this number.");
    show("newcust-open", p.number_status === "ok" && $("newcust-form").hidden);
    if ($("newcust-form").dataset.callId !== p.call_id) {
      $("newcust-form").hidden = true;
      $("newcust-form").dataset.callId = "";
    }
  }

  function renderCandidates(c) {
    var p = c.pop, sel = $("candidate-select");
    var many = !!(p.customer && Array.isArray(p.candidates) && p.candidates.length > 1);
    show("candidates", many);
    clear(sel);
    if (!many) return;
    setText("candidates-label", "This number matches " + (p.matches || p.candidates.length) +
      " customers. Showing the best match; pick the caller:");
    p.candidates.forEach(function (cand) {
      var extra = [cand.account, cand.tier].filter(Boolean).join(", ");
      sel.appendChild(el("option", { value: cand.id }, (cand.name || cand.id) + (extra ? " (" + extra + ")" : "")));
    });
    sel.value = p.customer.id;
  }

  function renderCustomer(c) {
    var cu = customerOf(c);
    show("customer", !!cu);
    if (!cu) return;
    setText("customer-id", cu.id);
    setText("customer-email", cu.email);
    setText("customer-phones", Array.isArray(cu.phones) && cu.phones.length ? cu.phones.map(national).join(", ") : "");
    show("customer-notes-block", !!cu.notes);
    $("customer-notes").textContent = cu.notes || "";
  }

  /* Attached data as rows: nested keys joined ("order.items[0].sku"). */
  function flatten(v, key, rows) {
    if (rows.length >= DATA_ROWS_MAX) return;
    if (v !== null && typeof v === "object") {
      var keys = Array.isArray(v) ? v.map(function (_, i) { return i; }) : Object.keys(v);
      if (!keys.length) rows.push([key, Array.isArray(v) ? "(none)" : "(empty)"]);
      keys.forEach(function (k) {
        flatten(v[k], Array.isArray(v) ? key + "[" + k + "]" : key ? key + "." + k : String(k), rows);
      });
    } else {
      rows.push([key, v === null ? "—" : String(v)]);
    }
  }

  function valueNode(s) {
    if (/^https?:\/\//i.test(s)) {
      try {
        var u = new URL(s);
        if (u.protocol === "http:" || u.protocol === "https:")
          return el("a", { href: u.href, rel: "noopener noreferrer", target: "_blank" }, s);
      } catch (e) { /* not a URL: text */ }
    }
    return s;
  }

  function renderData(data) {
    var tbody = $("call-data").tBodies[0], rows = [];
    clear(tbody);
    if (data && typeof data === "object") flatten(data, "", rows);
    rows.forEach(function (r) {
      tbody.appendChild(el("tr", { "data-testid": "data-row" }, [el("td", null, r[0]), el("td", null, valueNode(r[1]))]));
    });
    show("call-data", rows.length > 0);
    show("call-data-empty", rows.length === 0);
  }

  function renderHistory(c) {
    var p = c.pop, tbody = $("history").tBodies[0], rows = Array.isArray(p.history) ? p.history : [];
    clear(tbody);
    rows.forEach(function (h) {
      tbody.appendChild(el("tr", { "data-testid": "history-row", "data-call-id": String(h.call_id || "") }, [
        el("td", { className: "when" }, when(h.started_at)),
        el("td", { className: "dur" }, typeof h.duration_ms === "number" ? clock(h.duration_ms) : "—"),
        el("td", null, h.queue || "—"),
        el("td", { title: h.agent || "" }, h.agent_name || h.agent || "—"),
        el("td", null, label(h.outcome) || "—"),
        el("td", null, label(h.disposition) || "—"),
        el("td", { className: "notes-cell" }, h.notes || "")
      ]));
    });
    show("history", rows.length > 0);
    show("history-empty", rows.length === 0);
    setText("history-heading", p.customer ? "Recent calls of " + (p.customer.name || p.customer.id) :
      "Recent calls from this number");
  }

  function callButton(id, who, status, extra) {
    var b = el("button", { type: "button", "data-call-id": id }, [el("span", { className: "who" }, who),
      el("span", { className: "st" }, status)]);
    if (extra) Object.keys(extra).forEach(function (k) { b.setAttribute(k, extra[k]); });
    return b;
  }

  function renderCalls() {
    var ul = $("calls-list"), ids = Array.from(S.calls.keys()).reverse();
    clear(ul);
    show("calls-empty", ids.length === 0);
    ids.forEach(function (id) {
      var c = S.calls.get(id);
      var b = callButton(id, whoOf(c), (c.pop.direction === "outbound" ? "Outbound · " : "") + (STATE_LABEL[c.state] || label(c.state)));
      if (id === S.current) b.setAttribute("aria-current", "true");
      b.addEventListener("click", function () { choose(id); });
      ul.appendChild(el("li", null, b));
    });
    renderPending();
  }

  function pendingName(p) {
    return p.name || (p.number ? national(p.number) : "No caller ID");
  }

  function renderPending() {
    var ul = $("pending-list"), list = Array.from(S.pending.values());
    clear(ul);
    list.sort(function (a, b) { return String(a.ended_at).localeCompare(String(b.ended_at)); });
    list.forEach(function (p) {
      var t = p.ended_at ? new Date(p.ended_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "";
      var b = callButton(p.call_id, pendingName(p), (hasInput(p.call_id) ? "draft · " : "") + "ended " + t,
        { "data-testid": "pending-item" });
      if (p.call_id === S.wrap) b.setAttribute("aria-current", "true");
      b.addEventListener("click", function () { choose(p.call_id); });
      ul.appendChild(el("li", null, b));
    });
    setText("pending-count", String(list.length));
    $("pending-count").className = "count" + (list.length ? " has" : "");
    show("pending-empty", list.length === 0);
  }

  /* The agent picked a call: its card, and its wrap-up when one is due. */
  function choose(id) {
    if (S.calls.has(id)) {
      S.current = id;
      show("call-note", false);
      renderCurrent();
    }
    if (S.pending.has(id) || (S.calls.get(id) && S.calls.get(id).mine)) S.wrap = id;
    renderCalls();
    renderWrap();
  }

  /* ---- wrap-up: one draft per call ---- */

  function wrapInfo(id) {
    var c = S.calls.get(id), p = S.pending.get(id), d = draftOf(id);
    if (c) return { name: whoOf(c), number: numberOf(c.pop), direction: c.pop.direction };
    if (p) return { name: pendingName(p), number: p.number, direction: p.direction };
    if (d) return { name: d.name || id, number: d.number, direction: d.direction };
    return { name: id, number: "", direction: "inbound" };
  }

  function nextWrap() {
    var list = Array.from(S.pending.values());
    list.sort(function (a, b) { return String(a.ended_at).localeCompare(String(b.ended_at)); });
    var withDraft = list.filter(function (p) { return hasInput(p.call_id); });
    return (withDraft[0] || list[0] || {}).call_id || null;
  }

  function renderWrap() {
    var id = S.wrap;
    show("wrapup-form", !!id);
    show("wrapup-none", !id);
    if (!id) { S.wrapShown = null; return; }
    var info = wrapInfo(id), d = draftOf(id) || {};
    setText("wrapup-who", (info.direction === "outbound" ? "Outbound call to " : "Call from ") + info.name);
    setText("wrapup-call", id);
    $("wrapup-form").dataset.callId = id;
    $("wrapup-submit").textContent = "Save wrap-up for " + info.name;
    if (S.wrapShown !== id) { /* load this call's draft: never carry another call's input over */
      S.wrapShown = id;
      $("wrapup-code").value = d.code && S.codes.indexOf(d.code) >= 0 ? d.code : "";
      $("wrapup-notes").value = d.notes || "";
    }
    show("wrapup-draft", hasInput(id));
  }

  function onDraftInput() {
    var id = S.wrapShown;
    if (!id) return;
    var d = drafts(), info = wrapInfo(id);
    d[id] = { code: $("wrapup-code").value, notes: $("wrapup-notes").value, name: info.name, number: info.number,
      direction: info.direction };
    saveDrafts(d);
    show("wrapup-draft", hasInput(id));
    renderPending();
  }

  function onWrapup(ev) {
    ev.preventDefault();
    var id = S.wrapShown;
    if (!id) return;
    var code = $("wrapup-code").value, notes = $("wrapup-notes").value.trim(), who = wrapInfo(id).name;
    if (!code) {
      message("wrapup-result", "error", "Choose a disposition for " + who + ".");
      return;
    }
    var body = { call_id: id, code: code };
    if (notes) body.notes = notes;
    $("wrapup-submit").disabled = true;
    api("POST", agentPath("/disposition"), body).then(function (res) {
      $("wrapup-submit").disabled = false;
      if (res.status === 401) return sessionEnded();
      if (!res.ok) {
        message("wrapup-result", "error", "Not saved for " + who + ": " +
          (res.status === 403 ? "only the agent who answered a call can wrap it up." : errorText(res, "error")));
        return;
      }
      var d = drafts();
      delete d[id];
      saveDrafts(d);
      S.pending.delete(id);
      message("wrapup-result", "ok", "Saved for " + who + " (" + id + "): " + label(code) + (notes ? " — " + notes : "") + (/[.!?]$/.test(notes) ? "" : "."));
      var c = S.calls.get(id);
      if (c) c.wrapped = true;
      S.wrap = nextWrap();
      S.wrapShown = null;
      renderCalls();
      renderWrap();
    }, function () {
      $("wrapup-submit").disabled = false;
      message("wrapup-result", "error", "Not saved for " + who + ": cannot reach the server. The draft is kept.");
    });
  }

  /* ---- candidates and new customers ---- */

  function onCandidateUse() {
    var c = S.current ? S.calls.get(S.current) : null, id = $("candidate-select").value;
    if (!c || !id) return;
    $("candidate-use").disabled = true;
    api("POST", agentPath("/select"), { call_id: c.pop.call_id, customer_id: id }).then(function (res) {
      $("candidate-use").disabled = false;
      if (res.status === 401) return sessionEnded();
      if (!res.ok) message("call-note", "error", "Customer not changed: " + errorText(res, "error"));
      /* The refreshed pop comes on the stream. */
    }, function () {
      $("candidate-use").disabled = false;
      message("call-note", "error", "Customer not changed: cannot reach the server.");
    });
  }

  function openNewCustomer() {
    var c = S.current ? S.calls.get(S.current) : null;
    if (!c) return;
    ["nc-name", "nc-email", "nc-account", "nc-tier", "nc-notes"].forEach(function (i) { $(i).value = ""; });
    $("nc-phones").value = numberOf(c.pop);
    $("newcust-form").dataset.callId = c.pop.call_id;
    show("newcust-error", false);
    show("newcust-open", false);
    show("newcust-form", true);
    $("nc-name").focus();
  }

  var BYTES = new TextEncoder();
  /* The rules of `callogctl import` for a row, so the form says what the server would. */
  function checkCustomer(f) {
    var limits = { name: 256, email: 256, account: 128, tier: 128, notes: 4096 };
    if (!f.name) return "Enter the customer's name.";
    for (var k in limits) {
      if (BYTES.encode(f[k]).length > limits[k]) return k + " is longer than " + limits[k] + " bytes.";
      if (k !== "notes" && /[\u0000-\u001f\u007f]/.test(f[k])) return "control character in " + k + ".";
    }
    if (!f.phones.length) return "Enter at least one phone number.";
    if (f.phones.length > 16) return "At most 16 phones.";
    for (var i = 0; i < f.phones.length; i++) {
      var p = f.phones[i], digits = p.replace(/\D/g, "");
      if (p.length > 64 || !/^\+?[0-9 ().\-\/]+$/.test(p) || !digits.length || digits.length > 15)
        return "phone \u201c" + p + "\u201d is not a valid phone number.";
    }
    return null;
  }

  function onNewCustomer(ev) {
    ev.preventDefault();
    var callId = $("newcust-form").dataset.callId;
    var f = {
      name: $("nc-name").value.trim(), email: $("nc-email").value.trim(), account: $("nc-account").value.trim(),
      tier: $("nc-tier").value.trim(), notes: $("nc-notes").value,
      phones: $("nc-phones").value.split(";").map(function (s) { return s.trim(); }).filter(Boolean)
    };
    var bad = checkCustomer(f);
    if (bad) { message("newcust-error", "error", bad); return; }
    var body = { call_id: callId, name: f.name, phones: f.phones, email: f.email, account: f.account, tier: f.tier,
      notes: f.notes };
    $("newcust-submit").disabled = true;
    api("POST", "/api/customers", body).then(function (res) {
      $("newcust-submit").disabled = false;
      if (res.status === 401) return sessionEnded();
      if (res.status !== 201) { message("newcust-error", "error", "Not created: " + errorText(res, "error")); return; }
      show("newcust-form", false);
      message("call-note", "ok", "Customer " + (res.body && res.body.name) + " created.");
      /* The refreshed pop comes on the stream. */
    }, function () {
      $("newcust-submit").disabled = false;
      message("newcust-error", "error", "Not created: cannot reach the server.");
    });
  }

  /* ---- start ---- */

  document.addEventListener("DOMContentLoaded", function () {
    $("login-form").addEventListener("submit", onLogin);
    $("logout").addEventListener("click", onLogout);
    $("wrapup-form").addEventListener("submit", onWrapup);
    $("wrapup-code").addEventListener("change", onDraftInput);
    $("wrapup-notes").addEventListener("input", onDraftInput);
    $("state-select").addEventListener("change", postState);
    $("state-reason").addEventListener("change", postState);
    $("state-form").addEventListener("submit", function (ev) { ev.preventDefault(); postState(); });
    $("candidate-use").addEventListener("click", onCandidateUse);
    $("newcust-open").addEventListener("click", openNewCustomer);
    $("newcust-form").addEventListener("submit", onNewCustomer);
    $("newcust-cancel").addEventListener("click", function () { show("newcust-form", false); show("newcust-open", true); });
    document.addEventListener("pointerdown", unlockAlerts, { once: true });
    setInterval(tick, 1000);
    var agent = stored(AGENT_KEY);
    /* The session cookie is HttpOnly: try the console, and fall back to the form on 401. */
    if (agent && stored(ACTIVE_KEY) === "1") showConsole(agent);
    else showLogin();
  });
})();
