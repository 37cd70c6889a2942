/* crmmap.h : the pure side of the CRM lookup (docs/crm.md): the lookup URL
 * from its template, a CRM answer mapped to contacts by JSON pointers, and the
 * merge of CRM contacts with the local lookup a pop shows. */
#ifndef CALLOGD_CRMMAP_H
#define CALLOGD_CRMMAP_H

#include <stddef.h>

#include <jansson.h>

#include "callogd/util.h"

enum cl_crm_field {
	CL_CRM_ID,
	CL_CRM_NAME,
	CL_CRM_EMAIL,
	CL_CRM_ACCOUNT,
	CL_CRM_TIER,
	CL_CRM_NOTES,
	CL_CRM_URL,
	CL_CRM__FIELDS
};

/* crm.fields' keys, by enum cl_crm_field: "id", "name", ... */
extern const char *const cl_crm_field_names[CL_CRM__FIELDS];

#define CL_CRM_URL_MAX 4096   /* bytes of an expanded lookup URL */
#define CL_CRM_MAX_CONTACTS 5 /* contacts kept of one answer: a pop's candidates (docs/consoles.md) */
#define CL_CRM_TEXT_MAX 256   /* bytes of a name or email, as a local customer's */

/* Where an answer's contacts are and what each field is: JSON pointers (RFC 6901). */
struct cl_crm_map {
	const char *list; /* the array of contacts; "" = the answer itself */
	const char *fields[CL_CRM__FIELDS];
};

/*
 * cl_crm_url_check() : 0 when tmpl is an http:// or https:// URL whose
 * placeholders are only {e164}, {national} and {digits}; else -1 with err.
 */
int cl_crm_url_check(const char *tmpl, char *err);

/*
 * cl_crm_url() : tmpl with {e164} (the number), {digits} (without "+") and
 * {national} (without "+" and country_code) replaced, percent-encoded ("+" is
 * "%2B"). malloc'd; NULL with err when tmpl is not valid or the URL passes
 * CL_CRM_URL_MAX bytes.
 */
char *cl_crm_url(const char *tmpl, const char *e164, const char *country_code, char *err);

/*
 * cl_crm_contacts() : the CRM's answer body (len bytes) as
 *   {"contacts":[contact, ...], "matches":N}
 * the first CL_CRM_MAX_CONTACTS contacts of N, each
 *   {"id","name","account","tier","email","phones":[number],"notes","url","source":"crm"}
 * with every field a string ("" when the pointer finds nothing; numbers as
 * text; text cut at a UTF-8 boundary to the local customer's bounds; a url
 * that is not http(s) is ""). At m->list: an array of contacts, one object (one
 * contact), or nothing/null (none). A contact with neither id nor name is
 * skipped. NULL with err when the body is not JSON or m->list finds something else.
 */
json_t *cl_crm_contacts(const struct cl_crm_map *m, const char *body, size_t len, const char *number, char *err);

/*
 * cl_crm_merge() : what a pop shows from the local lookup (may be NULL: not
 * done yet) and the CRM's contacts (cl_crm_contacts(), may be NULL): the local
 * lookup's fields, with customer.source "local" on local customers; CRM
 * contacts first (they take precedence), then the local customers whose id no
 * CRM contact has, at most CL_CRM_MAX_CONTACTS as candidates when there
 * are several matches. number fills "number" when local is NULL. A new
 * reference, NULL on out of memory.
 */
json_t *cl_crm_merge(json_t *local, json_t *crm, const char *number);

#endif
