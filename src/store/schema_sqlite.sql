-- schema_sqlite.sql : the SQLite backend's schema, as the steps that build it.
-- Each "-- version N" section takes a database from version N-1 to N
-- (PRAGMA user_version); a new database runs them all, in one transaction.
-- Embedded into the library at build time (scripts/embed_text.cmake); add a
-- section to change the schema, never edit one that has shipped.

-- version 1
CREATE TABLE events(
  seq INTEGER PRIMARY KEY,
  eid TEXT,
  call_id TEXT,
  type TEXT NOT NULL,
  ts INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  body TEXT NOT NULL);
CREATE UNIQUE INDEX events_eid ON events(eid) WHERE eid IS NOT NULL;
CREATE INDEX events_call ON events(call_id, seq);
CREATE TABLE calls(
  call_id TEXT PRIMARY KEY,
  direction INTEGER NOT NULL DEFAULT 0,
  from_num TEXT NOT NULL DEFAULT '',
  to_num TEXT NOT NULL DEFAULT '',
  number TEXT NOT NULL DEFAULT '',
  queue TEXT NOT NULL DEFAULT '',
  agent TEXT NOT NULL DEFAULT '',
  agents TEXT NOT NULL DEFAULT '[]',
  customer_id TEXT,
  has_offer INTEGER NOT NULL DEFAULT 0,
  offered_at INTEGER NOT NULL DEFAULT 0,
  answered_at INTEGER NOT NULL DEFAULT 0,
  ended_at INTEGER NOT NULL DEFAULT 0,
  hold_ms INTEGER NOT NULL DEFAULT 0,
  hold_since INTEGER NOT NULL DEFAULT 0,
  end_reason TEXT NOT NULL DEFAULT '',
  end_by TEXT NOT NULL DEFAULT '',
  disp_code TEXT NOT NULL DEFAULT '',
  disp_agent TEXT NOT NULL DEFAULT '',
  disp_at INTEGER NOT NULL DEFAULT 0,
  disp_notes TEXT,
  data TEXT,
  last_seq INTEGER NOT NULL DEFAULT 0);
CREATE INDEX calls_offered ON calls(offered_at);
CREATE INDEX calls_customer ON calls(customer_id, offered_at) WHERE customer_id IS NOT NULL;
CREATE INDEX calls_number ON calls(number, offered_at);
CREATE INDEX calls_ended ON calls(ended_at) WHERE ended_at > 0;
CREATE TABLE customers(
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL DEFAULT '',
  phones TEXT NOT NULL DEFAULT '[]',
  email TEXT NOT NULL DEFAULT '',
  account TEXT NOT NULL DEFAULT '',
  tier TEXT NOT NULL DEFAULT '',
  notes TEXT NOT NULL DEFAULT '',
  updated_at INTEGER NOT NULL DEFAULT 0);
CREATE TABLE customer_phones(
  number TEXT NOT NULL,
  customer_id TEXT NOT NULL,
  PRIMARY KEY(number, customer_id)) WITHOUT ROWID;
CREATE INDEX customer_phones_customer ON customer_phones(customer_id);
CREATE TABLE agents(
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL DEFAULT '',
  token_hash TEXT,
  state TEXT NOT NULL DEFAULT 'logged_out',
  reason TEXT NOT NULL DEFAULT '',
  since INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL DEFAULT 0);
CREATE TABLE api_tokens(
  name TEXT PRIMARY KEY,
  token_hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL);

-- version 2: daemon secrets (the session cookie signing key), revoked sessions
CREATE TABLE meta(
  key TEXT PRIMARY KEY,
  value BLOB NOT NULL) WITHOUT ROWID;

-- version 3: the latest answer's time, so the last agent is right when answers arrive out of order
ALTER TABLE calls ADD COLUMN last_answered_at INTEGER NOT NULL DEFAULT 0;
UPDATE calls SET last_answered_at = answered_at;

-- version 4: the outcome (docs/http-api.md), computed in C when a call is written; sqlite.c
-- back-fills existing rows with the same rule (calls.c). meta 'last_seq' keeps
-- the highest seq ever committed, so purges never make seq go back.
ALTER TABLE calls ADD COLUMN outcome TEXT NOT NULL DEFAULT 'active';
INSERT OR IGNORE INTO meta(key, value) SELECT 'last_seq', coalesce(max(seq), 0) FROM events;

-- version 5: what reports need (docs/http-api.md), written as events are applied.
-- calls: the wrap (ended_at to the first disposition at or after it) and whether
-- the call was transferred. call_marks: the events that shape each agent's part
-- of a call, kept narrow; call_legs: each agent's part, derived from them in C
-- (report.h's cl_call_facts). agent_states: every agent.state, in time order.
-- calls_report covers what the queue report reads. sqlite_reports.c back-fills
-- all of it from the event log.
ALTER TABLE calls ADD COLUMN wrap_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE calls ADD COLUMN transferred INTEGER NOT NULL DEFAULT 0;
CREATE TABLE call_marks(
  call_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  type TEXT NOT NULL,
  agent TEXT,
  to_agent TEXT,
  PRIMARY KEY(call_id, seq)) WITHOUT ROWID;
CREATE TABLE call_legs(
  call_id TEXT NOT NULL,
  agent TEXT NOT NULL,
  rang INTEGER NOT NULL DEFAULT 0,
  answered INTEGER NOT NULL DEFAULT 0,
  talk_ms INTEGER NOT NULL DEFAULT 0,
  hold_ms INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(call_id, agent)) WITHOUT ROWID;
CREATE TABLE agent_states(
  agent TEXT NOT NULL,
  ts INTEGER NOT NULL,
  state TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT '');
CREATE INDEX agent_states_agent ON agent_states(agent, ts);
CREATE INDEX calls_report ON calls(offered_at, direction, queue, outcome, answered_at, ended_at, hold_ms,
  hold_since, wrap_ms, transferred, disp_code, disp_agent);
INSERT INTO call_marks(call_id, seq, ts, type, agent, to_agent)
  SELECT call_id, seq, ts, type, json_extract(body, '$.agent'), json_extract(body, '$.to_agent') FROM events
  WHERE call_id IS NOT NULL AND type IN ('call.ringing', 'call.answered', 'call.held', 'call.resumed',
    'call.transferred', 'call.ended', 'call.disposition') AND json_valid(body);
INSERT INTO agent_states(agent, ts, state, reason)
  SELECT json_extract(body, '$.agent'), ts, json_extract(body, '$.state'), coalesce(json_extract(body, '$.reason'), '')
  FROM events WHERE type = 'agent.state' AND json_valid(body)
    AND json_type(body, '$.agent') = 'text' AND json_type(body, '$.state') = 'text'
  ORDER BY seq;

-- version 6: API token roles (admin, supervisor, producer); tokens made before roles keep full access
ALTER TABLE api_tokens ADD COLUMN role TEXT NOT NULL DEFAULT 'admin';

-- version 7: the queue report's roll-up (slots.h): per 15-minute slot (UTC, ms), queue ('' = none)
-- and disposition code ('' = the queue's figures), the counts and sums of the calls offered in
-- it. The writer keeps it in step with the calls in the same transaction; meta 'report_slots'
-- holds the thresholds it was counted with ("SLA_MS SHORT_MS"), absent until the daemon has
-- counted it once (at start-up, with stats.sla_seconds and stats.short_abandon_seconds).
CREATE TABLE report_slots(
  slot INTEGER NOT NULL,
  queue TEXT NOT NULL,
  code TEXT NOT NULL,
  answered INTEGER NOT NULL DEFAULT 0,
  abandoned INTEGER NOT NULL DEFAULT 0,
  short_abandoned INTEGER NOT NULL DEFAULT 0,
  unanswered INTEGER NOT NULL DEFAULT 0,
  active INTEGER NOT NULL DEFAULT 0,
  within_sla INTEGER NOT NULL DEFAULT 0,
  transferred INTEGER NOT NULL DEFAULT 0,
  sum_wait_answered INTEGER NOT NULL DEFAULT 0,
  sum_wait_abandoned INTEGER NOT NULL DEFAULT 0,
  sum_talk INTEGER NOT NULL DEFAULT 0,
  sum_hold INTEGER NOT NULL DEFAULT 0,
  sum_wrap INTEGER NOT NULL DEFAULT 0,
  max_wait INTEGER NOT NULL DEFAULT -1,
  count INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(slot, queue, code)) WITHOUT ROWID;

-- version 8: the webhook outbox (docs/crm.md): deliveries journaled with the events that cause them
CREATE TABLE webhook_outbox(
  id INTEGER PRIMARY KEY,
  delivery_id TEXT NOT NULL UNIQUE,
  body_id TEXT NOT NULL,
  hook TEXT NOT NULL,
  call_id TEXT NOT NULL,
  type TEXT NOT NULL,
  revision INTEGER NOT NULL,
  call TEXT NOT NULL,
  state INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  due_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_status INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  last_at INTEGER NOT NULL DEFAULT 0);
CREATE INDEX webhook_outbox_call ON webhook_outbox(call_id, hook, type, revision);
CREATE INDEX webhook_outbox_open ON webhook_outbox(hook, state, due_at) WHERE state < 2;
