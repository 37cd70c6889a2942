-- schema_pg.sql : the PostgreSQL backend's schema, as the steps that build it.
-- Each "-- version N" section takes a database from version N-1 to N (the
-- version is kept in callogd_schema); a new database runs them all, in one
-- transaction, under an advisory lock so that nodes starting together migrate
-- once. Embedded into the library at build time (scripts/embed_text.cmake);
-- add a section to change the schema, never edit one that has shipped.
-- Text that is ordered or compared is COLLATE "C": byte order, as SQLite's.

-- version 1: what SQLite's versions 1-6 hold, plus the cluster's counter
CREATE TABLE cluster(
  id INTEGER PRIMARY KEY CHECK (id = 1),
  last_seq BIGINT NOT NULL DEFAULT 0,
  gen BIGINT NOT NULL DEFAULT 0);
INSERT INTO cluster(id) VALUES(1);
CREATE TABLE events(
  seq BIGINT PRIMARY KEY,
  eid TEXT COLLATE "C",
  call_id TEXT COLLATE "C",
  type TEXT NOT NULL,
  ts BIGINT NOT NULL,
  received_at BIGINT NOT NULL,
  body TEXT NOT NULL);
CREATE UNIQUE INDEX events_eid ON events(eid) WHERE eid IS NOT NULL;
CREATE INDEX events_call ON events(call_id, seq);
CREATE SEQUENCE calls_rid;
CREATE TABLE calls(
  call_id TEXT COLLATE "C" PRIMARY KEY,
  rid BIGINT NOT NULL DEFAULT nextval('calls_rid'),
  direction INTEGER NOT NULL DEFAULT 0,
  from_num TEXT NOT NULL DEFAULT '',
  to_num TEXT NOT NULL DEFAULT '',
  number TEXT COLLATE "C" NOT NULL DEFAULT '',
  queue TEXT COLLATE "C" NOT NULL DEFAULT '',
  agent TEXT COLLATE "C" NOT NULL DEFAULT '',
  agents TEXT NOT NULL DEFAULT '[]',
  customer_id TEXT COLLATE "C",
  has_offer INTEGER NOT NULL DEFAULT 0,
  offered_at BIGINT NOT NULL DEFAULT 0,
  answered_at BIGINT NOT NULL DEFAULT 0,
  last_answered_at BIGINT NOT NULL DEFAULT 0,
  ended_at BIGINT NOT NULL DEFAULT 0,
  hold_ms BIGINT NOT NULL DEFAULT 0,
  hold_since BIGINT NOT NULL DEFAULT 0,
  end_reason TEXT NOT NULL DEFAULT '',
  end_by TEXT NOT NULL DEFAULT '',
  disp_code TEXT COLLATE "C" NOT NULL DEFAULT '',
  disp_agent TEXT COLLATE "C" NOT NULL DEFAULT '',
  disp_at BIGINT NOT NULL DEFAULT 0,
  disp_notes TEXT,
  data TEXT,
  last_seq BIGINT NOT NULL DEFAULT 0,
  outcome TEXT NOT NULL DEFAULT 'active',
  wrap_ms BIGINT NOT NULL DEFAULT 0,
  transferred INTEGER NOT NULL DEFAULT 0);
CREATE INDEX calls_offered ON calls(offered_at, rid);
CREATE INDEX calls_customer ON calls(customer_id, offered_at) WHERE customer_id IS NOT NULL;
CREATE INDEX calls_number ON calls(number, offered_at);
CREATE INDEX calls_ended ON calls(ended_at) WHERE ended_at > 0;
CREATE INDEX calls_queue ON calls(queue, offered_at);
CREATE TABLE customers(
  id TEXT COLLATE "C" PRIMARY KEY,
  name TEXT NOT NULL DEFAULT '',
  phones TEXT NOT NULL DEFAULT '[]',
  email TEXT NOT NULL DEFAULT '',
  account TEXT NOT NULL DEFAULT '',
  tier TEXT NOT NULL DEFAULT '',
  notes TEXT NOT NULL DEFAULT '',
  updated_at BIGINT NOT NULL DEFAULT 0);
CREATE TABLE customer_phones(
  number TEXT COLLATE "C" NOT NULL,
  customer_id TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY(number, customer_id));
CREATE INDEX customer_phones_customer ON customer_phones(customer_id);
CREATE TABLE agents(
  id TEXT COLLATE "C" PRIMARY KEY,
  name TEXT NOT NULL DEFAULT '',
  token_hash TEXT,
  state TEXT NOT NULL DEFAULT 'logged_out',
  reason TEXT NOT NULL DEFAULT '',
  since BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL DEFAULT 0);
CREATE TABLE api_tokens(
  name TEXT COLLATE "C" PRIMARY KEY,
  token_hash TEXT NOT NULL UNIQUE,
  created_at BIGINT NOT NULL,
  role TEXT NOT NULL DEFAULT 'admin');
CREATE TABLE secrets(
  name TEXT PRIMARY KEY,
  value BYTEA NOT NULL);
CREATE TABLE revoked(
  mac TEXT PRIMARY KEY,
  until_ms BIGINT NOT NULL);
CREATE TABLE call_marks(
  call_id TEXT COLLATE "C" NOT NULL,
  seq BIGINT NOT NULL,
  ts BIGINT NOT NULL,
  type TEXT NOT NULL,
  agent TEXT,
  to_agent TEXT,
  PRIMARY KEY(call_id, seq));
CREATE TABLE call_legs(
  call_id TEXT COLLATE "C" NOT NULL,
  agent TEXT COLLATE "C" NOT NULL,
  rang INTEGER NOT NULL DEFAULT 0,
  answered INTEGER NOT NULL DEFAULT 0,
  talk_ms BIGINT NOT NULL DEFAULT 0,
  hold_ms BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY(call_id, agent));
CREATE SEQUENCE agent_states_rid;
CREATE TABLE agent_states(
  rid BIGINT NOT NULL DEFAULT nextval('agent_states_rid'),
  agent TEXT COLLATE "C" NOT NULL,
  ts BIGINT NOT NULL,
  state TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT '');
CREATE INDEX agent_states_agent ON agent_states(agent, ts);

-- version 2: the queue report's roll-up (slots.h), as SQLite's version 7: per 15-minute slot
-- (UTC, ms), queue ('' = none) and disposition code ('' = the queue's figures); slot_conf holds
-- the thresholds it was counted with, no row until the daemon has counted it once.
CREATE TABLE report_slots(
  slot BIGINT NOT NULL,
  queue TEXT COLLATE "C" NOT NULL,
  code TEXT COLLATE "C" NOT NULL,
  answered BIGINT NOT NULL DEFAULT 0,
  abandoned BIGINT NOT NULL DEFAULT 0,
  short_abandoned BIGINT NOT NULL DEFAULT 0,
  unanswered BIGINT NOT NULL DEFAULT 0,
  active BIGINT NOT NULL DEFAULT 0,
  within_sla BIGINT NOT NULL DEFAULT 0,
  transferred BIGINT NOT NULL DEFAULT 0,
  sum_wait_answered BIGINT NOT NULL DEFAULT 0,
  sum_wait_abandoned BIGINT NOT NULL DEFAULT 0,
  sum_talk BIGINT NOT NULL DEFAULT 0,
  sum_hold BIGINT NOT NULL DEFAULT 0,
  sum_wrap BIGINT NOT NULL DEFAULT 0,
  max_wait BIGINT NOT NULL DEFAULT -1,
  count BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY(slot, queue, code));
CREATE TABLE slot_conf(
  id INTEGER PRIMARY KEY CHECK (id = 1),
  sla_ms BIGINT NOT NULL,
  short_ms BIGINT NOT NULL);

-- version 3: which node took each event (the session's callogd.node), so that each node's
-- follower skips its own; events are announced with NOTIFY callogd_events, payload the
-- highest seq of the commit, a wake-up only: followers read the rows after the last they have.
ALTER TABLE events ADD COLUMN node TEXT COLLATE "C" DEFAULT current_setting('callogd.node', true);

-- version 4: the webhook outbox (docs/crm.md), as SQLite's version 8: deliveries journaled with the
-- events that cause them.
CREATE TABLE webhook_outbox(
  id BIGSERIAL PRIMARY KEY,
  delivery_id TEXT COLLATE "C" NOT NULL UNIQUE,
  body_id TEXT NOT NULL,
  hook TEXT COLLATE "C" NOT NULL,
  call_id TEXT COLLATE "C" NOT NULL,
  type TEXT NOT NULL,
  revision INTEGER NOT NULL,
  call TEXT NOT NULL,
  state INTEGER NOT NULL,
  created_at BIGINT NOT NULL,
  due_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_status INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  last_at BIGINT NOT NULL DEFAULT 0);
CREATE INDEX webhook_outbox_call ON webhook_outbox(hook, call_id, type, revision);
CREATE INDEX webhook_outbox_open ON webhook_outbox(hook, state, due_at) WHERE state < 2;
