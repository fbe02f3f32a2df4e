/*
 * fcgi/api_health.c: GET /v1/health, which compute nodes use to test connectivity.
 * Healthy means the database answered a trivial query on this worker's connection.
 */
#include "config.h"
#include "api.h"

#include <json-c/json.h>

#include "db.h"
#include "http.h"
#include "rfc3339.h"

void api_health(struct http_req *req, const char *id)
{
        char ts[RFC3339_BUFSZ];
        json_object *o;
        int r;

        (void)id;
        r = db_exec(req->db, STMT_PING, NULL, NULL, NULL);
        o = json_object_new_object();
        if (!o) {
                http_error(req, 500, NULL, "out of memory", NULL);
                return;
        }
        json_object_object_add(o, "status", json_object_new_string(r == 0 ? "healthy" : "unhealthy"));
        json_object_object_add(
                o, "timestamp",
                json_object_new_string(rfc3339_format(rfc3339_now_usec(), ts, sizeof(ts))));
        json_object_object_add(o, "version", json_object_new_string(PACKAGE_VERSION));
        json_object_object_add(o, "database", json_object_new_string(r == 0 ? "ok" : "unavailable"));
        http_reply_json(req, r == 0 ? 200 : 503,
                        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), NULL);
        json_object_put(o);
}
