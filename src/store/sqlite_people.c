/* sqlite_people.c : the SQLite backend's customers (ranked match, read,
 * upsert, phone sampling), agents and API tokens. */
#include <stdio.h>
#include <string.h>

#include "callogd/util.h"
#include "sqlite.h"

/*
 * The ranking of store.h in one statement: the number's customers by id (at
 * most CL_CUSTOMERS_RANKED of them, read off the primary key), each with its
 * latest call read off calls_customer by a min/max seek.
 */
static const char rank_sql[] =
    "SELECT m.customer_id FROM"
    " (SELECT customer_id FROM customer_phones WHERE number = ?1 ORDER BY customer_id LIMIT ?2) AS m"
    " ORDER BY (SELECT max(offered_at) FROM calls WHERE customer_id = m.customer_id) DESC NULLS LAST,"
    " m.customer_id LIMIT ?3";

int
sq_customer_match(struct cl_store *st, const char *number, int max, char (*ids)[CL_ID_MAX + 1], int *matches, char *err)
{
	struct sq *q = (struct sq *)st;
	sqlite3_stmt *s;
	int rc = SQLITE_OK, n = 0;

	if (matches != NULL) {
		if ((s = sq_stmt(q, SQ_CUST_COUNT, "SELECT count(*) FROM customer_phones WHERE number = ?", err)) ==
		    NULL)
			return -1;
		sq_text(s, 1, number, &rc);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(s);
		if (rc == SQLITE_ROW)
			*matches = sqlite3_column_int(s, 0);
		else
			sq_fail(q, "customer matches", err);
		sq_done(s);
		if (rc != SQLITE_ROW)
			return -1;
		rc = SQLITE_OK;
	}
	if (max <= 0)
		return 0;
	if ((s = sq_stmt(q, SQ_CUST_RANK, rank_sql, err)) == NULL)
		return -1;
	sq_text(s, 1, number, &rc);
	sq_int(s, 2, CL_CUSTOMERS_RANKED, &rc);
	sq_int(s, 3, max, &rc);
	while (rc == SQLITE_OK && n < max && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		sq_copy(ids[n++], sizeof(ids[0]), s, 0);
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_OK && rc != SQLITE_DONE)
		sq_fail(q, "customer ranking", err);
	sq_done(s);
	return rc == SQLITE_OK || rc == SQLITE_DONE ? n : -1;
}

int
sq_customer_get(struct cl_store *st, const char *id, struct cl_customer *c, char *err)
{
	struct sq *q = (struct sq *)st;
	sqlite3_stmt *s = sq_stmt(
	    q, SQ_CUST_GET, "SELECT id, name, phones, email, account, tier, notes FROM customers WHERE id = ?", err);
	int rc = SQLITE_OK;

	if (s == NULL)
		return -1;
	sq_text(s, 1, id, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		sq_copy(c->id, sizeof(c->id), s, 0);
		sq_copy(c->name, sizeof(c->name), s, 1);
		cl_rows_phones(sq_col(s, 2), c);
		sq_copy(c->email, sizeof(c->email), s, 3);
		sq_copy(c->account, sizeof(c->account), s, 4);
		sq_copy(c->tier, sizeof(c->tier), s, 5);
		sq_copy(c->notes, sizeof(c->notes), s, 6);
	} else if (rc != SQLITE_DONE) {
		sq_fail(q, "customer", err);
	}
	sq_done(s);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static const char *const field_col[CL_CUST__FIELDS] = {
    [CL_CUST_NAME] = "name", [CL_CUST_EMAIL] = "email", [CL_CUST_ACCOUNT] = "account",
    [CL_CUST_TIER] = "tier", [CL_CUST_NOTES] = "notes",
};

#define PHONES_BIT (1 << CL_CUST__FIELDS)

/* The upsert of exactly the columns in mask (one statement per mask, kept). */
static sqlite3_stmt *
upsert_stmt(struct sq *q, int mask, char *err)
{
	char sql[1024], cols[256] = "id, updated_at", vals[128] = "?1, ?2",
	                set[512] = "updated_at = excluded.updated_at";

	for (int f = 0; f <= CL_CUST__FIELDS; f++) {
		const char *col = f == CL_CUST__FIELDS ? "phones" : field_col[f];
		if (!(mask & (1 << f)))
			continue;
		snprintf(cols + strlen(cols), sizeof(cols) - strlen(cols), ", %s", col);
		snprintf(vals + strlen(vals), sizeof(vals) - strlen(vals), ", ?%d", f + 3);
		snprintf(set + strlen(set), sizeof(set) - strlen(set), ", %s = excluded.%s", col, col);
	}
	snprintf(sql, sizeof(sql), "INSERT INTO customers(%s) VALUES(%s) ON CONFLICT(id) DO UPDATE SET %s", cols, vals,
	         set);
	return sq_stmt(q, SQ_CUST_UPSERT + mask, sql, err);
}

int
sq_customer_put(struct cl_store *st, const struct cl_customer_update *u, int *existed, char *err)
{
	struct sq *q = (struct sq *)st;
	/* Normalised numbers are '+' and digits only: the JSON needs no escaping. */
	char phones[CL_CUSTOMER_MAX_PHONES * (CL_NUMBER_LEN + 3) + 3];
	sqlite3_stmt *s, *del, *ins;
	int rc = SQLITE_OK, mask = u->set_phones ? PHONES_BIT : 0;
	size_t o = 0;

	for (int f = 0; f < CL_CUST__FIELDS; f++)
		if (u->text[f] != NULL)
			mask |= 1 << f;
	if ((s = sq_stmt(q, SQ_CUST_EXISTS, "SELECT 1 FROM customers WHERE id = ?", err)) == NULL)
		return -1;
	sq_textn(s, 1, u->id, u->id_len, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		sq_fail(q, "customer", err);
	sq_done(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -1;
	*existed = rc == SQLITE_ROW;

	if ((s = upsert_stmt(q, mask, err)) == NULL)
		return -1;
	o = (size_t)snprintf(phones, sizeof(phones), "[");
	for (int i = 0; u->set_phones && i < u->nphones && i < CL_CUSTOMER_MAX_PHONES; i++)
		o += (size_t)snprintf(phones + o, sizeof(phones) - o, "%s\"%s\"", i ? "," : "", u->phones[i]);
	snprintf(phones + o, sizeof(phones) - o, "]");
	rc = SQLITE_OK;
	sq_textn(s, 1, u->id, u->id_len, &rc);
	sq_int(s, 2, u->now, &rc);
	for (int f = 0; f < CL_CUST__FIELDS; f++)
		if (u->text[f] != NULL)
			sq_textn(s, f + 3, u->text[f], u->len[f], &rc);
	if (u->set_phones)
		sq_text(s, CL_CUST__FIELDS + 3, phones, &rc);
	if (rc != SQLITE_OK) {
		sq_done(s);
		return sq_fail(q, "customer", err);
	}
	if (sq_run(q, s, "customer", err) < 0)
		return -1;
	if (!u->set_phones)
		return 0;

	if ((del = sq_stmt(q, SQ_CUST_DEL_PHONES, "DELETE FROM customer_phones WHERE customer_id = ?", err)) == NULL ||
	    (ins = sq_stmt(q, SQ_CUST_INS_PHONE,
	                   "INSERT OR IGNORE INTO customer_phones(number, customer_id) VALUES(?, ?)", err)) == NULL)
		return -1;
	if (*existed) {
		sq_textn(del, 1, u->id, u->id_len, &rc);
		if (rc != SQLITE_OK || sq_run(q, del, "customer phones", err) < 0) {
			sq_done(del);
			return rc != SQLITE_OK ? sq_fail(q, "customer phones", err) : -1;
		}
	}
	for (int i = 0; i < u->nphones && i < CL_CUSTOMER_MAX_PHONES; i++) {
		sq_text(ins, 1, u->phones[i], &rc);
		sq_textn(ins, 2, u->id, u->id_len, &rc);
		if (rc != SQLITE_OK) {
			sq_done(ins);
			return sq_fail(q, "customer phones", err);
		}
		if (sq_run(q, ins, "customer phones", err) < 0)
			return -1;
	}
	return 0;
}

int
sq_phones(struct cl_store *st, const char *from, int limit, int (*fn)(void *, const char *), void *arg, char *err)
{
	struct sq *q = (struct sq *)st;
	sqlite3_stmt *s = sq_stmt(q, SQ_PHONES,
	                          "SELECT number FROM customer_phones WHERE number >= ?1 AND number LIKE '+%'"
	                          " ORDER BY number LIMIT ?2",
	                          err);
	int rc = SQLITE_OK, stop = 0;

	if (s == NULL)
		return -1;
	sq_text(s, 1, from, &rc);
	sq_int(s, 2, limit, &rc);
	while (rc == SQLITE_OK && stop == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		stop = fn(arg, sq_col(s, 0));
		rc = SQLITE_OK;
	}
	if (stop == 0 && rc != SQLITE_DONE)
		sq_fail(q, "phones", err);
	sq_done(s);
	return stop ? stop : rc == SQLITE_DONE ? 0 : -1;
}

/* ---- agents and tokens ---- */

int
sq_put_agent_state(struct cl_store *st, const char *agent, const char *state, const char *reason, int64_t ts, char *err)
{
	struct sq *q = (struct sq *)st;
	sqlite3_stmt *s = sq_stmt(q, SQ_AGENT_STATE,
	                          "INSERT INTO agents(id, state, reason, since, created_at) VALUES(?1,?2,?3,?4,?4) "
	                          "ON CONFLICT(id) DO UPDATE SET state = ?2, reason = ?3, since = ?4 WHERE since <= ?4",
	                          err);
	int rc = SQLITE_OK;

	if (s == NULL)
		return -1;
	sq_text(s, 1, agent, &rc);
	sq_text(s, 2, state, &rc);
	sq_text(s, 3, reason, &rc);
	sq_int(s, 4, ts, &rc);
	if (rc != SQLITE_OK) {
		sq_done(s);
		return sq_fail(q, "agent state", err);
	}
	if (sq_run(q, s, "agent state", err) < 0)
		return -1;
	return sq_state_history(q, agent, state, reason, ts, err);
}

int
sq_agents(struct cl_store *st, int (*fn)(void *, const struct cl_agent_row *), void *arg, char *err)
{
	struct sq *q = (struct sq *)st;
	sqlite3_stmt *s = sq_stmt(q, SQ_AGENTS, "SELECT id, name, state, reason, since FROM agents ORDER BY id", err);
	int rc = SQLITE_OK, stop = 0;

	if (s == NULL)
		return -1;
	while (stop == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct cl_agent_row a = {sq_col(s, 0), sq_col(s, 1), sq_col(s, 2), sq_col(s, 3),
		                         sqlite3_column_int64(s, 4)};
		stop = fn(arg, &a);
		rc = SQLITE_OK;
	}
	if (stop == 0 && rc != SQLITE_DONE)
		sq_fail(q, "agents", err);
	sq_done(s);
	return stop ? stop : rc == SQLITE_DONE ? 0 : -1;
}

int
sq_token_add(struct cl_store *st, const char *name, const char *role, const char *hash, int64_t now, char *err)
{
	struct sq *q = (struct sq *)st;
	sqlite3_stmt *s =
	    sq_stmt(q, SQ_TOKEN_ADD, "INSERT INTO api_tokens(name, token_hash, created_at, role) VALUES(?,?,?,?)", err);
	int rc = SQLITE_OK;

	if (s == NULL)
		return -1;
	sq_text(s, 1, name, &rc);
	sq_text(s, 2, hash, &rc);
	sq_int(s, 3, now, &rc);
	sq_text(s, 4, role, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
		snprintf(err, CL_ERR_LEN, "a token named \"%s\" already exists", name);
	else if (rc != SQLITE_DONE)
		sq_fail(q, "token", err);
	sq_done(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
sq_token_find(struct cl_store *st, const char *hash, char *err)
{
	struct sq *q = (struct sq *)st;
	sqlite3_stmt *s = sq_stmt(q, SQ_TOKEN_FIND, "SELECT role FROM api_tokens WHERE token_hash = ?", err);
	int rc = SQLITE_OK, role = 0;

	if (s == NULL)
		return -1;
	sq_text(s, 1, hash, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		role = cl_role_parse((const char *)sqlite3_column_text(s, 0));
	else if (rc != SQLITE_DONE)
		sq_fail(q, "token", err);
	sq_done(s);
	/* A role this daemon does not know grants nothing. */
	return rc == SQLITE_ROW ? role : rc == SQLITE_DONE ? 0 : -1;
}

int
sq_agent_add(struct cl_store *st, const char *id, const char *name, const char *hash, int64_t now, char *err)
{
	struct sq *q = (struct sq *)st;
	/* An agent first seen through agent.state events has no token yet: give it one. */
	sqlite3_stmt *s = sq_stmt(q, SQ_AGENT_ADD,
	                          "INSERT INTO agents(id, name, token_hash, created_at) VALUES(?1,?2,?3,?4) "
	                          "ON CONFLICT(id) DO UPDATE SET name = ?2, token_hash = ?3 WHERE token_hash IS NULL",
	                          err);
	int rc = SQLITE_OK;

	if (s == NULL)
		return -1;
	sq_text(s, 1, id, &rc);
	sq_text(s, 2, name, &rc);
	sq_text(s, 3, hash, &rc);
	sq_int(s, 4, now, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_DONE && sqlite3_changes(q->db) == 0) {
		snprintf(err, CL_ERR_LEN, "agent \"%s\" already exists", id);
		rc = SQLITE_CONSTRAINT;
	} else if (rc != SQLITE_DONE) {
		sq_fail(q, "agent", err);
	}
	sq_done(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
sq_agent_remove(struct cl_store *st, const char *id, char *err)
{
	struct sq *q = (struct sq *)st;
	sqlite3_stmt *s = sq_stmt(q, SQ_AGENT_REMOVE, "DELETE FROM agents WHERE id = ?", err);
	int rc = SQLITE_OK;

	if (s == NULL)
		return -1;
	sq_text(s, 1, id, &rc);
	if (rc != SQLITE_OK) {
		sq_done(s);
		return sq_fail(q, "agent", err);
	}
	if (sq_run(q, s, "agent", err) < 0)
		return -1;
	return sqlite3_changes(q->db) > 0 ? 1 : 0;
}

int
sq_agent_token(struct cl_store *st, const char *id, char *hash, char *err)
{
	struct sq *q = (struct sq *)st;
	sqlite3_stmt *s = sq_stmt(q, SQ_AGENT_TOKEN, "SELECT token_hash FROM agents WHERE id = ?", err);
	int rc = SQLITE_OK;

	hash[0] = '\0';
	if (s == NULL)
		return -1;
	sq_text(s, 1, id, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		snprintf(hash, CL_SHA256_HEX, "%s", sq_col(s, 0));
	else if (rc != SQLITE_DONE)
		sq_fail(q, "agent", err);
	sq_done(s);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}
