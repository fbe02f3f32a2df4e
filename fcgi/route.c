/*
 * fcgi/route.c: path and method dispatch.  Paths are matched segment by segment on the raw
 * REQUEST_URI path, so percent-encoded or dot segments never reach a handler as something
 * else; a {id} segment is handed to the handler, which validates it.
 */
#include "config.h"
#include "route.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "compiler.h"
#include "http.h"

/* clang-format off */
static const struct route routes[] = {
        { "GET",    "/v1/health",              api_health,        NEED_PUBLIC,  ON_PRIMARY },
        { "POST",   "/v1/events/job-started",  api_job_started,   NEED_INGEST,  ON_PRIMARY },
        { "POST",   "/v1/events/job-finished", api_job_finished,  NEED_INGEST,  ON_PRIMARY },
        { "GET",    "/v1/jobs",                api_jobs_list,     NEED_READ,    ON_REPLICA },
        { "POST",   "/v1/jobs",                api_job_create,    NEED_ADMIN,   ON_PRIMARY },
        { "GET",    "/v1/jobs/{id}",           api_job_get,       NEED_READ,    ON_REPLICA },
        { "PATCH",  "/v1/jobs/{id}",           api_job_patch,     NEED_ADMIN,   ON_PRIMARY },
        { "DELETE", "/v1/jobs/{id}",           api_job_delete,    NEED_ADMIN,   ON_PRIMARY },
        { "GET",    "/v1/jobs/{id}/metrics",   api_samples_list,  NEED_READ,    ON_REPLICA },
        { "POST",   "/v1/jobs/{id}/metrics",   api_sample_add,    NEED_INGEST,  ON_PRIMARY },
        { "POST",   "/v1/samples",             api_samples_post,  NEED_INGEST,  ON_PRIMARY },
        { "GET",    "/v1/nodes/{id}/metrics",  api_node_metrics,  NEED_READ,    ON_REPLICA },
        { "GET",    "/metrics",                api_metrics,       NEED_METRICS, ON_REPLICA },
};
/* clang-format on */

size_t route_count(void)
{
        return ARRAY_SIZE(routes);
}

const char *const *route_names(void)
{
        /* the patterns, in route order (two routes may share one: GET and POST /v1/jobs) */
        static const char *names[ARRAY_SIZE(routes)];

        if (!names[0])
                for (size_t i = 0; i < ARRAY_SIZE(routes); i++)
                        names[i] = routes[i].pattern;
        return names;
}

/* Matches path against pattern; a "{id}" segment is copied into id (size idsz). */
static bool match(const char *pattern, const char *path, char *id, size_t idsz)
{
        const char *p = pattern, *s = path;

        while (*p && *s) {
                if (strncmp(p, "{id}", 4) == 0) {
                        size_t n = strcspn(s, "/");

                        if (n == 0 || n >= idsz)
                                return false;
                        memcpy(id, s, n);
                        id[n] = '\0';
                        p += 4;
                        s += n;
                        continue;
                }
                if (*p != *s)
                        return false;
                p++;
                s++;
        }
        return *p == '\0' && *s == '\0';
}

void route_dispatch(struct http_req *req)
{
        char id[512];
        char allow[128] = "";
        char hdr[160];
        size_t alen = 0;
        int path_route = -1;

        for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
                if (!match(routes[i].pattern, req->path, id, sizeof(id)))
                        continue;
                if (path_route < 0)
                        path_route = (int)i;
                if (strcmp(routes[i].method, req->method) == 0) {
                        req->route_idx = (int)i;
                        if (auth_check(req, routes[i].need) < 0)
                                return; /* 401/403/503 answered */
                        /* the audit log of a mutation records who made it */
                        if (strcmp(req->method, "GET") != 0 && req->principal[0] &&
                            auth_bind_principal(req) < 0) {
                                http_error(req, 503, "unavailable", "the database is unavailable",
                                           NULL);
                                return;
                        }
                        /* Credentials were checked on the primary (token lookups write
                           last_used_at); a read route's statements go to the replica. */
                        if (routes[i].db == ON_REPLICA && req->db_read)
                                req->db = req->db_read;
                        routes[i].handler(req, strstr(routes[i].pattern, "{id}") ? id : NULL);
                        return;
                }
                if (alen + strlen(routes[i].method) + 3 < sizeof(allow)) {
                        int n = snprintf(allow + alen, sizeof(allow) - alen, "%s%s",
                                         alen ? ", " : "", routes[i].method);

                        if (n > 0)
                                alen += (size_t)n;
                }
        }
        if (path_route < 0) {
                http_error(req, 404, "not_found", "no such route", NULL);
                return;
        }
        req->route_idx = path_route;
        (void)snprintf(hdr, sizeof(hdr), "Allow: %s\r\n", allow);
        http_error_hdr(req, 405, "method_not_allowed", "method not allowed on this route", NULL,
                       hdr);
}
