/* configdb.c : owns the database group's check: SQLite at database.path, or
 * PostgreSQL at database.url (docs/cluster.md), never both. */
#include <stdio.h>
#include <string.h>

#include "config_int.h"

int
cl_config_check_database(const struct cl_config *c, const char **key, char *msg, size_t mlen)
{
	if (c->db_path[0] == '\0') {
		*key = "path";
		snprintf(msg, mlen, "database.path must not be empty");
		return -1;
	}
	if (c->db_url[0] != '\0' && strncmp(c->db_url, "postgresql://", 13) != 0 &&
	    strncmp(c->db_url, "postgres://", 11) != 0) {
		*key = "url";
		snprintf(msg, mlen, "database.url must be a postgresql:// (or postgres://) URL");
		return -1;
	}
	/* The path's default stands for "not set": a path given with a url is a mistake. */
	if (c->db_url[0] != '\0' && strcmp(c->db_path, DB_PATH_DEFAULT) != 0) {
		*key = "url";
		snprintf(msg, mlen, "database.path and database.url are exclusive: set one");
		return -1;
	}
	return 0;
}
