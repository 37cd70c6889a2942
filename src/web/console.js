/* console.js : the agent console: login, the SSE stream of screen-pops and call
 * states, the wrap-up and the agent state. Data from the daemon only ever goes
 * into the page through textContent, never as markup. */
"use strict";

(function () {
  var AGENT_KEY = "callogd.agent";     /* the last agent ID, to fill in the form */
  var ACTIVE_KEY = "callogd.active";   /* "1" while logged in, so a reload goes straight to the stream */
  var SEEN_MAX = 2000;

  var S = {
    agent: null,
    es: null,
    retryTimer: null,
    retryDelay: 2000,
    calls: new Map(), /* call_id -> {pop, state, chosen, wrap, note} in arrival order */
    current: null,
    seen: new Set(),
    seenOrder: []
  };

  function $(id) { return document.getElementById(id); }

  /* el("td", {className: "x"}, "text" | [nodes]) : a node built from text only. */
  function el(tag, props, children) {
    var n = document.createElement(tag);
    if (props) {
      Object.keys(props).forEach(function (k) {
        if (k === "className") n.className = props[k];
        else if (k === "text") n.textContent = props[k];
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

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function setText(id, value, fallback) {
    var s = value === null || value === undefined || value === "" ? (fallback === undefined ? "—" : fallback) : String(value);
    $(id).textContent = s;
  }

  function show(id, on) { $(id).hidden = !on; }

  function message(id, kind, text) {
    var m = $(id);
    m.className = "msg " + (kind === "ok" ? "msg-ok" : kind === "error" ? "msg-error" : "msg-info");
    m.textContent = text;
    m.hidden = !text;
  }

  function when(iso) {
    if (!iso) return "—";
    var d = new Date(iso);
    if (isNaN(d.getTime())) return String(iso);
    return d.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
  }

  function label(code) {
    return String(code || "").replace(/_/g, " ");
  }

  /* ---- HTTP ---- */

  function api(method, path, body) {
    var opts = { method: method, credentials: "same-origin", headers: {} };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
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

  function agentPath(rest) {
    return "/api/agents/" + encodeURIComponent(S.agent) + rest;
  }

  /* ---- login and logout ---- */

  function store(key, value) {
    try {
      if (value === null) localStorage.removeItem(key);
      else localStorage.setItem(key, value);
    } catch (e) { /* storage off: the form just starts empty */ }
  }

  function stored(key) {
    try { return localStorage.getItem(key); } catch (e) { return null; }
  }

  function showLogin(note) {
    stopStream();
    store(ACTIVE_KEY, null);
    S.agent = null;
    show("session", false);
    show("console", false);
    show("login", true);
    var last = stored(AGENT_KEY);
    if (last && !$("login-agent").value) $("login-agent").value = last;
    if (note) message("login-error", "info", note);
    else show("login-error", false);
    ($("login-agent").value ? $("login-token") : $("login-agent")).focus();
  }

  function showConsole(agent) {
    S.agent = agent;
    $("agent-id").textContent = agent;
    show("login", false);
    show("session", true);
    show("console", true);
    renderCurrent();
  }

  function onLogin(ev) {
    ev.preventDefault();
    var agent = $("login-agent").value.trim();
    var token = $("login-token").value.trim();
    if (!agent || !token) {
      message("login-error", "error", "Enter your agent ID and token.");
      return;
    }
    $("login-submit").disabled = true;
    api("POST", "/api/login", { agent: agent, token: token }).then(function (res) {
      $("login-submit").disabled = false;
      if (!res.ok) {
        message("login-error", "error",
          res.status === 401 ? "Unknown agent or wrong token." : errorText(res, "Login failed"));
        $("login-token").select();
        return;
      }
      $("login-token").value = "";
      store(AGENT_KEY, agent);
      store(ACTIVE_KEY, "1");
      S.calls.clear();
      S.current = null;
      showConsole(agent);
      startStream();
    }, function () {
      $("login-submit").disabled = false;
      message("login-error", "error", "Cannot reach the server. Try again.");
    });
  }

  function onLogout() {
    stopStream();
    api("POST", "/api/logout").catch(function () { return null; }).then(function () {
      S.calls.clear();
      S.current = null;
      showLogin("You are logged out.");
    });
  }

  /* The server no longer knows this session (expired, logged out elsewhere, restarted). */
  function sessionEnded() {
    showLogin("Your session has ended. Please log in again.");
  }

  /* ---- the stream ---- */

  function setConn(kind, text) {
    var c = $("conn-status");
    c.className = "conn conn-" + kind;
    c.textContent = text;
  }

  function stopStream() {
    if (S.retryTimer) {
      clearTimeout(S.retryTimer);
      S.retryTimer = null;
    }
    if (S.es) {
      S.es.close();
      S.es = null;
    }
  }

  function startStream() {
    stopStream();
    if (!S.agent) return;
    setConn("connecting", "Connecting…");
    var es = new EventSource(agentPath("/stream"));
    S.es = es;
    es.onopen = function () {
      S.retryDelay = 2000;
      setConn("connected", "Connected");
    };
    es.addEventListener("pop", function (ev) { onMessage(ev, onPop); });
    es.addEventListener("call", function (ev) { onMessage(ev, onCall); });
    es.onerror = function () {
      if (S.es !== es) return;
      /* CONNECTING: the browser reconnects by itself (and sends Last-Event-ID).
       * CLOSED: the server answered with an error status; find out which. */
      if (es.readyState === EventSource.CLOSED) {
        es.close();
        S.es = null;
        probe();
      } else {
        setConn("connecting", "Reconnecting…");
      }
    };
  }

  /* Asks for the stream once to learn its status: 401/403 means log in again. */
  function probe() {
    var ctl = typeof AbortController === "function" ? new AbortController() : null;
    setConn("offline", "Offline — retrying");
    fetch(agentPath("/stream"), { credentials: "same-origin", signal: ctl ? ctl.signal : undefined })
      .then(function (r) {
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
    var id = ev.lastEventId;
    if (id) {
      if (S.seen.has(id)) return; /* a replay of something already shown */
      S.seen.add(id);
      S.seenOrder.push(id);
      if (S.seenOrder.length > SEEN_MAX) S.seen.delete(S.seenOrder.shift());
    }
    var m;
    try { m = JSON.parse(ev.data); } catch (e) { return; }
    if (m && typeof m === "object" && typeof m.call_id === "string") handler(m);
  }

  function onPop(p) {
    var old = S.calls.get(p.call_id);
    S.calls.delete(p.call_id); /* re-insert: newest last */
    S.calls.set(p.call_id, {
      pop: p,
      state: old && old.state !== "transferred" ? old.state : "incoming",
      chosen: 0,
      wrap: old ? old.wrap : null,
      note: null
    });
    S.current = p.call_id;
    show("call-note", false);
    renderCurrent();
    renderCalls();
    var c = S.calls.get(p.call_id);
    document.title = "Call: " + (c.pop.customer ? c.pop.customer.name : callerText(p)) + " — callogd";
  }

  function onCall(m) {
    var c = S.calls.get(m.call_id);
    if (m.state === "retracted") {
      if (!c) return;
      S.calls.delete(m.call_id);
      var who = customerOf(c) ? customerOf(c).name : callerText(c.pop);
      var text = "The call from " + who + " was taken" + (m.agent ? " by agent " + m.agent : " by another agent") + ".";
      if (S.current === m.call_id) {
        var rest = Array.from(S.calls.keys());
        S.current = rest.length ? rest[rest.length - 1] : null;
        renderCurrent();
      }
      message("call-note", "info", text);
      renderCalls();
      return;
    }
    if (!c) return;
    c.state = m.state;
    if (m.state === "transferred")
      c.note = "Transferred" + (m.to_agent ? " to agent " + m.to_agent : m.to ? " to " + m.to : "") + ".";
    else if (m.state === "ended")
      c.note = "The call has ended" + (m.reason ? " (" + label(m.reason) + ")" : "") + ". Enter the wrap-up.";
    else
      c.note = null;
    if (S.current === m.call_id) renderCurrent();
    renderCalls();
  }

  /* ---- rendering ---- */

  function customerOf(c) {
    var p = c.pop;
    if (p.candidates && p.candidates.length > 1 && p.candidates[c.chosen]) return p.candidates[c.chosen];
    return p.customer || null;
  }

  function callerText(p) {
    var n = p.direction === "outbound" ? p.to : p.from;
    if (p.number_status === "none") return "No caller ID";
    return n || "No caller ID";
  }

  var STATE_LABEL = {
    incoming: "Incoming", ringing: "Ringing", answered: "Answered", held: "On hold", resumed: "Answered",
    transferred: "Transferred", ended: "Ended"
  };

  function renderCurrent() {
    var c = S.current ? S.calls.get(S.current) : null;
    show("pop-empty", !c);
    show("pop-body", !!c);
    renderWrapupTarget(c);
    if (!c) return;
    var p = c.pop;

    var st = $("call-state");
    st.dataset.state = c.state === "incoming" ? "ringing" : c.state;
    st.textContent = STATE_LABEL[c.state] || label(c.state);
    setText("call-direction", p.direction === "outbound" ? "Outbound" : "Inbound");
    setText("call-queue", p.queue);
    setText("call-to", p.direction === "outbound" ? p.from : p.to);
    setText("call-id", p.call_id);
    setText("caller-number", callerText(p));
    if (c.note) message("call-note", "info", c.note);
    else show("call-note", false);

    /* Unknown caller, no caller ID, or a number that could not be read. */
    show("unknown-caller", !p.customer);
    if (!p.customer) {
      if (p.number_status === "none") {
        setText("unknown-title", "No caller ID");
        setText("unknown-detail", "The caller's number was withheld; no customer lookup was made.");
      } else if (p.number_status === "invalid") {
        setText("unknown-title", "Unknown caller");
        setText("unknown-detail", "The number \u201c" + (p.from || "") + "\u201d is not a valid phone number; no lookup was made.");
      } else {
        setText("unknown-title", "Unknown caller");
        setText("unknown-detail", "No customer record matches " + (p.number || callerText(p)) + ".");
      }
    }

    renderCandidates(c);
    renderCustomer(c);
    renderData(p.data);
    renderHistory(c);
  }

  function renderCandidates(c) {
    var p = c.pop, sel = $("candidate-select");
    var many = !!(p.customer && p.candidates && p.candidates.length > 1);
    show("candidates", many);
    clear(sel);
    if (!many) return;
    setText("candidates-label", "This number matches " + (p.matches || p.candidates.length) +
      " customers. Showing:");
    p.candidates.forEach(function (cand, i) {
      var extra = [cand.account, cand.tier].filter(Boolean).join(", ");
      sel.appendChild(el("option", { value: String(i) }, (cand.name || cand.id) + (extra ? " (" + extra + ")" : "")));
    });
    sel.value = String(c.chosen);
  }

  function renderCustomer(c) {
    var cu = customerOf(c);
    show("customer", !!cu);
    if (!cu) return;
    setText("customer-name", cu.name || cu.id, "(no name)");
    var tier = $("customer-tier");
    tier.textContent = cu.tier || "";
    tier.className = "tier" + (cu.tier ? " tier-" + String(cu.tier).toLowerCase().replace(/[^a-z0-9-]/g, "") : "");
    if (cu.tier) tier.setAttribute("aria-label", "Tier: " + cu.tier);
    else tier.removeAttribute("aria-label");
    setText("customer-account", cu.account);
    setText("customer-id", cu.id);
    setText("customer-email", cu.email);
    setText("customer-phones", Array.isArray(cu.phones) && cu.phones.length ? cu.phones.join(", ") : "");
    $("customer-notes").textContent = cu.notes || "";
  }

  function renderData(data) {
    var tbody = $("call-data").tBodies[0];
    clear(tbody);
    var keys = data && typeof data === "object" && !Array.isArray(data) ? Object.keys(data) : [];
    keys.forEach(function (k) {
      var v = data[k];
      var s = typeof v === "string" ? v : JSON.stringify(v);
      tbody.appendChild(el("tr", { "data-testid": "data-row" }, [el("td", null, k), el("td", null, s)]));
    });
    show("call-data", keys.length > 0);
    show("call-data-empty", keys.length === 0);
  }

  function renderHistory(c) {
    var p = c.pop, tbody = $("history").tBodies[0];
    var rows = Array.isArray(p.history) ? p.history : [];
    clear(tbody);
    rows.forEach(function (h) {
      tbody.appendChild(el("tr", { "data-testid": "history-row", "data-call-id": String(h.call_id || "") }, [
        el("td", null, when(h.started_at)),
        el("td", null, h.agent || "—"),
        el("td", null, label(h.outcome) || "—"),
        el("td", null, label(h.disposition) || "—"),
        el("td", null, h.notes || "")
      ]));
    });
    show("history", rows.length > 0);
    show("history-empty", rows.length === 0);
    var heading = "Recent calls";
    if (p.customer && c.chosen > 0) heading += " of " + (p.customer.name || p.customer.id) + " (best match)";
    else if (!p.customer && p.number) heading += " from this number";
    setText("history-heading", heading);
  }

  function renderWrapupTarget(c) {
    $("wrapup-submit").disabled = !c;
    setText("wrapup-call", c ? c.pop.call_id : null);
    if (c && c.wrap) message("wrapup-result", c.wrap.kind, c.wrap.text);
    else show("wrapup-result", false);
  }

  function renderCalls() {
    var ul = $("calls-list");
    clear(ul);
    var ids = Array.from(S.calls.keys()).reverse();
    show("calls-empty", ids.length === 0);
    ids.forEach(function (id) {
      var c = S.calls.get(id), cu = customerOf(c);
      var b = el("button", { type: "button", "data-call-id": id }, [
        el("span", { className: "who" }, cu ? cu.name || cu.id : callerText(c.pop)),
        el("span", { className: "st" }, (STATE_LABEL[c.state] || label(c.state)) + (c.wrap && c.wrap.kind === "ok" ? " ✓" : ""))
      ]);
      if (id === S.current) b.setAttribute("aria-current", "true");
      b.addEventListener("click", function () {
        S.current = id;
        show("call-note", false);
        renderCurrent();
        renderCalls();
      });
      ul.appendChild(el("li", null, b));
    });
  }

  /* ---- wrap-up and state ---- */

  function onWrapup(ev) {
    ev.preventDefault();
    var c = S.current ? S.calls.get(S.current) : null;
    if (!c) return;
    var sel = $("wrapup-code").value;
    var code = sel === "other" ? $("wrapup-code-other").value.trim() : sel;
    if (!code) {
      message("wrapup-result", "error", sel === "other" ? "Type the disposition code." : "Choose a disposition.");
      return;
    }
    var body = { call_id: c.pop.call_id, code: code };
    var notes = $("wrapup-notes").value.trim();
    if (notes) body.notes = notes;
    $("wrapup-submit").disabled = true;
    api("POST", agentPath("/disposition"), body).then(function (res) {
      if (res.status === 401) return sessionEnded();
      c.wrap = res.ok ? { kind: "ok", text: "Saved: " + label(code) + "." }
        : { kind: "error", text: "Not saved: " + errorText(res, "error") };
      if (res.ok) {
        $("wrapup-code").value = "";
        $("wrapup-code-other").value = "";
        $("wrapup-notes").value = "";
        show("wrapup-other-row", false);
      }
      if (S.current === body.call_id) renderWrapupTarget(c);
      renderCalls();
    }, function () {
      message("wrapup-result", "error", "Not saved: cannot reach the server. Try again.");
      $("wrapup-submit").disabled = false;
    });
  }

  function onState(ev) {
    ev.preventDefault();
    var state = $("state-select").value;
    var body = { state: state };
    if (state === "not_ready") body.reason = $("state-reason").value;
    $("state-submit").disabled = true;
    api("POST", agentPath("/state"), body).then(function (res) {
      $("state-submit").disabled = false;
      if (res.status === 401) return sessionEnded();
      if (res.ok) {
        var opt = $("state-select").selectedOptions[0];
        message("state-result", "ok", "You are " + opt.textContent.toLowerCase() +
          (body.reason ? " (" + label(body.reason) + ")" : "") + ".");
      } else {
        message("state-result", "error", "Not changed: " + errorText(res, "error"));
      }
    }, function () {
      $("state-submit").disabled = false;
      message("state-result", "error", "Not changed: cannot reach the server.");
    });
  }

  /* ---- start ---- */

  document.addEventListener("DOMContentLoaded", function () {
    $("login-form").addEventListener("submit", onLogin);
    $("logout").addEventListener("click", onLogout);
    $("wrapup-form").addEventListener("submit", onWrapup);
    $("state-form").addEventListener("submit", onState);
    $("wrapup-code").addEventListener("change", function () {
      show("wrapup-other-row", this.value === "other");
      if (this.value === "other") $("wrapup-code-other").focus();
    });
    $("state-select").addEventListener("change", function () {
      show("state-reason-row", this.value === "not_ready");
    });
    $("candidate-select").addEventListener("change", function () {
      var c = S.current ? S.calls.get(S.current) : null;
      if (!c) return;
      c.chosen = parseInt(this.value, 10) || 0;
      renderCustomer(c);
      renderHistory(c);
      renderCalls();
    });
    var agent = stored(AGENT_KEY);
    /* The session cookie is HttpOnly: try the stream, and fall back to the form on 401. */
    if (agent && stored(ACTIVE_KEY) === "1") {
      showConsole(agent);
      startStream();
    } else {
      showLogin();
    }
  });
})();
