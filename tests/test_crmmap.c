/* test_crmmap.c : the CRM lookup's pure pieces: URL templates, answers mapped by JSON pointers, the merge. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "callogd/crmmap.h"
#include "testutil.h"

static const struct cl_crm_map map = {
    .list = "/results",
    .fields = {"/id", "/name", "/email", "/account", "/org/tier", "/notes", "/link"},
};

static void
urls(void)
{
	char err[CL_ERR_LEN], *u;

	u = cl_crm_url("https://crm.example/c?phone={e164}&d={digits}&n={national}", "+15551234567", "1", err);
	CHECK_STR(u, "https://crm.example/c?phone=%2B15551234567&d=15551234567&n=5551234567");
	free(u);
	u = cl_crm_url("http://h/{national}/{e164}", "+31201234567", "31", err);
	CHECK_STR(u, "http://h/201234567/%2B31201234567");
	free(u);
	/* an extension (no "+"): as it is */
	u = cl_crm_url("http://h/?q={e164}", "2001", "1", err);
	CHECK_STR(u, "http://h/?q=2001");
	free(u);
	CHECK(cl_crm_url("http://h/{phone}", "+15551234567", "1", err) == NULL);
	CHECK(strstr(err, "{phone}") != NULL);
	CHECK(cl_crm_url("ftp://h/{e164}", "+15551234567", "1", err) == NULL);
	CHECK_INT(cl_crm_url_check("http://h/a b", err), -1);
	CHECK_INT(cl_crm_url_check("https://crm/x?p={digits}", err), 0);
	/* the expansion is bounded */
	char *big = malloc(CL_CRM_URL_MAX);
	snprintf(big, CL_CRM_URL_MAX, "http://h/");
	for (size_t n = strlen(big); n + 7 < CL_CRM_URL_MAX; n += 6)
		strcat(big, "{e164}");
	CHECK(cl_crm_url(big, "+15551234567", "1", err) == NULL);
	free(big);
}

static json_t *
contacts(const char *body, char *err)
{
	return cl_crm_contacts(&map, body, strlen(body), "+15551234567", err);
}

static void
answers(void)
{
	char err[CL_ERR_LEN];
	json_t *j, *c;

	j = contacts("{\"results\":[{\"id\":42,\"name\":\"Ada\",\"email\":\"a@x\",\"org\":{\"tier\":\"gold\"},"
	             "\"link\":\"https://crm/42\",\"extra\":[1,2]}]}",
	             err);
	CHECK(j != NULL);
	CHECK_INT(json_integer_value(json_object_get(j, "matches")), 1);
	c = json_array_get(json_object_get(j, "contacts"), 0);
	CHECK_STR(json_string_value(json_object_get(c, "id")), "42");
	CHECK_STR(json_string_value(json_object_get(c, "name")), "Ada");
	CHECK_STR(json_string_value(json_object_get(c, "tier")), "gold");
	CHECK_STR(json_string_value(json_object_get(c, "account")), "");
	CHECK_STR(json_string_value(json_object_get(c, "url")), "https://crm/42");
	CHECK_STR(json_string_value(json_object_get(c, "source")), "crm");
	CHECK_STR(json_string_value(json_array_get(json_object_get(c, "phones"), 0)), "+15551234567");
	json_decref(j);
	/* a link that is not http(s) is dropped; an object alone is one contact */
	j = contacts("{\"results\":{\"id\":\"7\",\"link\":\"javascript:alert(1)\"}}", err);
	CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(j, "contacts"), 0), "url")), "");
	json_decref(j);
	/* none: empty list, missing list, null */
	for (const char *b = "{\"results\":[]}\0{}\0{\"results\":null}\0"; *b; b += strlen(b) + 1) {
		j = contacts(b, err);
		CHECK(j != NULL);
		CHECK_INT(json_integer_value(json_object_get(j, "matches")), 0);
		json_decref(j);
	}
	/* several: at most CL_CRM_MAX_CONTACTS kept, all counted; nameless, idless and non-objects skipped */
	j = contacts(
	    "{\"results\":[{\"id\":1},{\"id\":2},{\"x\":1},3,{\"name\":\"n\"},{\"id\":4},{\"id\":5},{\"id\":6},"
	    "{\"id\":7}]}",
	    err);
	CHECK_INT(json_integer_value(json_object_get(j, "matches")), 7);
	CHECK_INT(json_array_size(json_object_get(j, "contacts")), CL_CRM_MAX_CONTACTS);
	json_decref(j);
	/* not JSON, or the list is something else */
	CHECK(contacts("<html><body>502 Bad Gateway</body></html>", err) == NULL);
	CHECK(strstr(err, "not JSON") != NULL);
	CHECK(contacts("{\"results\":\"none\"}", err) == NULL);
	CHECK(contacts("", err) == NULL);
	/* long text is cut to the bounds, at a UTF-8 boundary */
	char *body = malloc(3 * 400 + 64);
	strcpy(body, "{\"results\":[{\"id\":\"1\",\"name\":\"");
	for (int i = 0; i < 400; i++)
		strcat(body, "\xc3\xa9");
	strcat(body, "\"}]}");
	j = contacts(body, err);
	const char *name =
	    json_string_value(json_object_get(json_array_get(json_object_get(j, "contacts"), 0), "name"));
	CHECK(name != NULL && strlen(name) == CL_CRM_TEXT_MAX);
	json_decref(j);
	free(body);
}

static json_t *
parse(const char *s)
{
	return json_loads(s, 0, NULL);
}

static void
merges(void)
{
	json_t *local1 =
	    parse("{\"customer\":{\"id\":\"C-7\",\"name\":\"Ada L\"},\"matches\":1,\"history\":[{\"call_id\":"
	          "\"c0\"}],\"number\":\"+15551234567\",\"number_status\":\"ok\"}");
	json_t *none = parse("{\"contacts\":[],\"matches\":0}");
	json_t *one = parse("{\"contacts\":[{\"id\":\"42\",\"name\":\"Ada\",\"source\":\"crm\"}],\"matches\":1}");
	json_t *same = parse("{\"contacts\":[{\"id\":\"C-7\",\"name\":\"Ada\",\"source\":\"crm\"}],\"matches\":1}");
	json_t *m;

	/* local only: source local, history kept */
	m = cl_crm_merge(local1, NULL, NULL);
	CHECK_STR(json_string_value(json_object_get(json_object_get(m, "customer"), "source")), "local");
	CHECK_INT(json_array_size(json_object_get(m, "history")), 1);
	CHECK(json_object_get(m, "candidates") == NULL);
	json_decref(m);
	/* the local input is not changed */
	CHECK(json_object_get(json_object_get(local1, "customer"), "source") == NULL);
	/* a CRM miss changes nothing */
	m = cl_crm_merge(local1, none, NULL);
	CHECK_STR(json_string_value(json_object_get(json_object_get(m, "customer"), "id")), "C-7");
	CHECK_INT(json_integer_value(json_object_get(m, "matches")), 1);
	json_decref(m);
	/* CRM first; both are candidates */
	m = cl_crm_merge(local1, one, NULL);
	CHECK_STR(json_string_value(json_object_get(json_object_get(m, "customer"), "source")), "crm");
	CHECK_INT(json_integer_value(json_object_get(m, "matches")), 2);
	CHECK_INT(json_array_size(json_object_get(m, "candidates")), 2);
	CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(m, "candidates"), 1), "source")),
	          "local");
	json_decref(m);
	/* the same id in both: the CRM's, once */
	m = cl_crm_merge(local1, same, NULL);
	CHECK_INT(json_integer_value(json_object_get(m, "matches")), 1);
	CHECK_STR(json_string_value(json_object_get(json_object_get(m, "customer"), "name")), "Ada");
	CHECK(json_object_get(m, "candidates") == NULL);
	json_decref(m);
	/* the CRM before the local lookup */
	m = cl_crm_merge(NULL, one, "+15551234567");
	CHECK_STR(json_string_value(json_object_get(json_object_get(m, "customer"), "id")), "42");
	CHECK_STR(json_string_value(json_object_get(m, "number")), "+15551234567");
	CHECK_INT(json_array_size(json_object_get(m, "history")), 0);
	json_decref(m);
	json_decref(local1);
	json_decref(none);
	json_decref(one);
	json_decref(same);
}

int
main(void)
{
	urls();
	answers();
	merges();
	TEST_DONE();
}
