/* pg_people.c : the PostgreSQL backend's customers (ranked match, read,
 * upsert, phone sampling), agents and API tokens. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callogd/util.h"
#include "pg.h"

int
pg_customer_match(struct cl_store *st, const char *number, int max, char (*ids)[CL_ID_MAX + 1], int *matches, char *err)
{
	struct pg *g = (struct pg *)st;
	struct pg_params p = {0};
	PGresult *r;
	int n = 0;

	pgp_text(&p, number);
	if (matches != NULL) {
		if ((r = pg_run(g, PG_CUST_COUNT, "SELECT count(*) FROM customer_phones WHERE number = $1", &p,
		                "customer matches", err)) == NULL)
			return -1;
		*matches = (int)pg_int(r, 0, 0);
		PQclear(r);
	}
	if (max <= 0)
		return 0;
	pgp_int(&p, CL_CUSTOMERS_RANKED);
	pgp_int(&p, max);
	/* store.h's ranking: the number's first customers by id, each by its latest call. */
	if ((r = pg_run(
	         g, PG_CUST_RANK,
	         "SELECT m.customer_id FROM"
	         " (SELECT customer_id FROM customer_phones WHERE number = $1 ORDER BY customer_id LIMIT $2) AS m"
	         " ORDER BY (SELECT max(offered_at) FROM calls WHERE customer_id = m.customer_id) DESC NULLS"
	         " LAST, m.customer_id LIMIT $3",
	         &p, "customer ranking", err)) == NULL)
		return -1;
	for (; n < max && n < PQntuples(r); n++)
		pg_copy(ids[n], sizeof(ids[0]), r, n, 0);
	PQclear(r);
	return n;
}

int
pg_customer_get(struct cl_store *st, const char *id, struct cl_customer *c, char *err)
{
	struct pg_params p = {0};
	PGresult *r;
	int found;

	pgp_text(&p, id);
	if ((r = pg_run((struct pg *)st, PG_CUST_GET,
	                "SELECT id, name, phones, email, account, tier, notes FROM customers WHERE id = $1", &p,
	                "customer", err)) == NULL)
		return -1;
	if ((found = PQntuples(r) == 1)) {
		pg_copy(c->id, sizeof(c->id), r, 0, 0);
		pg_copy(c->name, sizeof(c->name), r, 0, 1);
		cl_rows_phones(pg_col(r, 0, 2), c);
		pg_copy(c->email, sizeof(c->email), r, 0, 3);
		pg_copy(c->account, sizeof(c->account), r, 0, 4);
		pg_copy(c->tier, sizeof(c->tier), r, 0, 5);
		pg_copy(c->notes, sizeof(c->notes), r, 0, 6);
	}
	PQclear(r);
	return found;
}

int
pg_customer_put(struct cl_store *st, const struct cl_customer_update *u, int *existed, char *err)
{
	struct pg *g = (struct pg *)st;
	char phones[CL_CUSTOMER_MAX_PHONES * (CL_NUMBER_LEN + 3) + 3];
	struct pg_params p = {0}, id = {0};
	PGresult *r;
	size_t o;

	/* A NULL text keeps the stored value: coalesce($n, column) with $n bound NULL; a new row gets "". */
	pgp_textn(&p, u->id, u->id_len);
	pgp_int(&p, u->now);
	for (int f = 0; f < CL_CUST__FIELDS; f++)
		pgp_textn(&p, u->text[f], u->len[f]);
	o = (size_t)snprintf(phones, sizeof(phones), "[");
	for (int i = 0; u->set_phones && i < u->nphones && i < CL_CUSTOMER_MAX_PHONES; i++)
		o += (size_t)snprintf(phones + o, sizeof(phones) - o, "%s\"%s\"", i ? "," : "", u->phones[i]);
	snprintf(phones + o, sizeof(phones) - o, "]");
	pgp_text(&p, u->set_phones ? phones : NULL);
	/* xmax = 0 is a row this statement inserted; else it updated one that existed. */
	if ((r = pg_run(g, PG_CUST_UPSERT,
	                "INSERT INTO customers(id, updated_at, name, email, account, tier, notes, phones)"
	                " VALUES($1, $2, coalesce($3, ''), coalesce($4, ''), coalesce($5, ''), coalesce($6, ''),"
	                " coalesce($7, ''), coalesce($8, '[]')) ON CONFLICT (id) DO UPDATE SET"
	                " updated_at = $2, name = coalesce($3, customers.name), email = coalesce($4, customers.email),"
	                " account = coalesce($5, customers.account), tier = coalesce($6, customers.tier),"
	                " notes = coalesce($7, customers.notes), phones = coalesce($8, customers.phones)"
	                " RETURNING xmax <> 0",
	                &p, "customer", err)) == NULL)
		return -1;
	*existed = PQntuples(r) == 1 && strcmp(pg_col(r, 0, 0), "t") == 0;
	PQclear(r);
	if (!u->set_phones)
		return 0;
	pgp_textn(&id, u->id, u->id_len);
	if (*existed && pg_do_slot(g, PG_CUST_DEL_PHONES, "DELETE FROM customer_phones WHERE customer_id = $1", &id,
	                           "customer phones", err) < 0)
		return -1;
	for (int i = 0; i < u->nphones && i < CL_CUSTOMER_MAX_PHONES; i++) {
		struct pg_params ph = {0};
		pgp_text(&ph, u->phones[i]);
		pgp_textn(&ph, u->id, u->id_len);
		if (pg_do_slot(g, PG_CUST_INS_PHONE,
		               "INSERT INTO customer_phones(number, customer_id) VALUES($1, $2) ON CONFLICT DO NOTHING",
		               &ph, "customer phones", err) < 0)
			return -1;
	}
	return 0;
}

int
pg_phones(struct cl_store *st, const char *from, int limit, int (*fn)(void *, const char *), void *arg, char *err)
{
	struct pg_params p = {0};
	PGresult *r;
	int stop = 0;

	pgp_text(&p, from);
	pgp_int(&p, limit);
	if ((r = pg_run((struct pg *)st, PG_PHONES,
	                "SELECT number FROM customer_phones WHERE number >= $1 AND number LIKE '+%'"
	                " ORDER BY number LIMIT $2",
	                &p, "phones", err)) == NULL)
		return -1;
	for (int i = 0; stop == 0 && i < PQntuples(r); i++)
		stop = fn(arg, pg_col(r, i, 0));
	PQclear(r);
	return stop;
}

/* ---- agents and tokens ---- */

int
pg_put_agent_state(struct cl_store *st, const char *agent, const char *state, const char *reason, int64_t ts, char *err)
{
	struct pg *g = (struct pg *)st;
	struct pg_params p = {0};

	pgp_text(&p, agent);
	pgp_text(&p, state);
	pgp_text(&p, reason != NULL ? reason : "");
	pgp_int(&p, ts);
	if (pg_do_slot(g, PG_AGENT_STATE,
	               "INSERT INTO agents(id, state, reason, since, created_at) VALUES($1, $2, $3, $4, $4)"
	               " ON CONFLICT (id) DO UPDATE SET state = $2, reason = $3, since = $4 WHERE agents.since <= $4",
	               &p, "agent state", err) < 0)
		return -1;
	return pg_do_slot(g, PG_STATE_ROW, "INSERT INTO agent_states(agent, ts, state, reason) VALUES($1, $4, $2, $3)",
	                  &p, "state history", err);
}

int
pg_agents(struct cl_store *st, int (*fn)(void *, const struct cl_agent_row *), void *arg, char *err)
{
	PGresult *r = pg_run((struct pg *)st, PG_AGENTS,
	                     "SELECT id, name, state, reason, since FROM agents ORDER BY id", NULL, "agents", err);
	int stop = 0;

	if (r == NULL)
		return -1;
	for (int i = 0; stop == 0 && i < PQntuples(r); i++) {
		struct cl_agent_row a = {pg_col(r, i, 0), pg_col(r, i, 1), pg_col(r, i, 2), pg_col(r, i, 3),
		                         pg_int(r, i, 4)};
		stop = fn(arg, &a);
	}
	PQclear(r);
	return stop;
}

int
pg_token_add(struct cl_store *st, const char *name, const char *role, const char *hash, int64_t now, char *err)
{
	struct pg *g = (struct pg *)st;
	struct pg_params p = {0};
	PGresult *r;

	pgp_text(&p, name);
	pgp_text(&p, hash);
	pgp_int(&p, now);
	pgp_text(&p, role);
	if ((r = pg_exec(g,
	                 "INSERT INTO api_tokens(name, token_hash, created_at, role) VALUES($1, $2, $3, $4)"
	                 " ON CONFLICT DO NOTHING",
	                 &p, "token", err)) == NULL)
		return -1;
	if (strcmp(PQcmdTuples(r), "1") != 0) {
		snprintf(err, CL_ERR_LEN, "a token named \"%s\" already exists", name);
		PQclear(r);
		return -1;
	}
	PQclear(r);
	return 0;
}

int
pg_token_find(struct cl_store *st, const char *hash, char *err)
{
	struct pg_params p = {0};
	PGresult *r;
	int role = 0;

	pgp_text(&p, hash);
	if ((r = pg_run((struct pg *)st, PG_TOKEN_FIND, "SELECT role FROM api_tokens WHERE token_hash = $1", &p,
	                "token", err)) == NULL)
		return -1;
	/* A role this daemon does not know grants nothing. */
	if (PQntuples(r) == 1)
		role = cl_role_parse(pg_col(r, 0, 0));
	PQclear(r);
	return role;
}

int
pg_agent_add(struct cl_store *st, const char *id, const char *name, const char *hash, int64_t now, char *err)
{
	struct pg_params p = {0};
	PGresult *r;

	pgp_text(&p, id);
	pgp_text(&p, name);
	pgp_text(&p, hash);
	pgp_int(&p, now);
	/* An agent first seen through agent.state events has no token yet: give it one. */
	if ((r = pg_exec((struct pg *)st,
	                 "INSERT INTO agents(id, name, token_hash, created_at) VALUES($1, $2, $3, $4)"
	                 " ON CONFLICT (id) DO UPDATE SET name = $2, token_hash = $3 WHERE agents.token_hash IS NULL",
	                 &p, "agent", err)) == NULL)
		return -1;
	if (strcmp(PQcmdTuples(r), "1") != 0) {
		snprintf(err, CL_ERR_LEN, "agent \"%s\" already exists", id);
		PQclear(r);
		return -1;
	}
	PQclear(r);
	return 0;
}

int
pg_agent_remove(struct cl_store *st, const char *id, char *err)
{
	struct pg_params p = {0};
	PGresult *r;
	int n;

	pgp_text(&p, id);
	if ((r = pg_exec((struct pg *)st, "DELETE FROM agents WHERE id = $1", &p, "agent", err)) == NULL)
		return -1;
	n = atoi(PQcmdTuples(r));
	PQclear(r);
	return n > 0 ? 1 : 0;
}

int
pg_agent_token(struct cl_store *st, const char *id, char *hash, char *err)
{
	struct pg_params p = {0};
	PGresult *r;
	int found;

	hash[0] = '\0';
	pgp_text(&p, id);
	if ((r = pg_run((struct pg *)st, PG_AGENT_TOKEN, "SELECT token_hash FROM agents WHERE id = $1", &p, "agent",
	                err)) == NULL)
		return -1;
	if ((found = PQntuples(r) == 1))
		snprintf(hash, CL_SHA256_HEX, "%s", pg_col(r, 0, 0));
	PQclear(r);
	return found;
}
