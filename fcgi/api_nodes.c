/*
 * fcgi/api_nodes.c: the history of one compute node, GET /v1/nodes/{node}/metrics: its node
 * samples (node_samples: CPU %, memory used and total, job count, one per collector interval)
 * or their 1-minute / 1-hour rollups (sql/0064_node_rollups.sql).  Query parameters and the
 * resolution rule are those of GET /v1/jobs/{id}/metrics; the answer is written from the rows of
 * hjo_node_samples_rows (fcgi/series_json.c).  Not the node's current values (those are in
 * /metrics).
 */
#include "config.h"
#include "api.h"

#include <stddef.h>
#include <string.h>

#include "api_util.h"
#include "db_stmts.h"
#include "http.h"
#include "qparam.h"
#include "valid.h"

enum { NQ_START, NQ_END, NQ_LIMIT, NQ_RESOLUTION, NQ__MAX };

/* clang-format off */
static const struct qparam node_samples_query[NQ__MAX + 1] = {
        [NQ_START] = { "start_time", QP_TIME, 0, 0, 0, NULL },
        [NQ_END] = { "end_time", QP_TIME, 0, 0, 0, NULL },
        [NQ_LIMIT] = { "limit", QP_INT, 1, 10000, 1000, NULL },
        [NQ_RESOLUTION] = { "resolution", QP_ENUM, 0, 0, 0, api_resolution_names },
        [NQ__MAX] = { NULL, 0, 0, 0, 0, NULL },
};
/* clang-format on */

void api_node_metrics(struct http_req *req, const char *node)
{
        struct qval q[NQ__MAX];
        struct pbuf pb;
        const char *params[5];

        pb_init(&pb);
        /* a path segment that is no host name names no node (as api_job_id_ok for jobs) */
        if (!node || !valid_hostname(node, strlen(node))) {
                http_error(req, 404, "not_found", "node not found", NULL);
                goto out;
        }
        if (api_parse_query(req, node_samples_query, q) < 0)
                goto out;
        params[0] = node;
        params[1] = pb_time(&pb, q[NQ_START].set, q[NQ_START].i);
        params[2] = pb_time(&pb, q[NQ_END].set, q[NQ_END].i);
        params[3] = pb_i64(&pb, true, q[NQ_LIMIT].i);
        params[4] = api_qval_str(&q[NQ_RESOLUTION]);
        api_run_series(req, STMT_NODE_SAMPLES_ROWS, params, SERIES_NODE, node, "node not found");
out:
        pb_clear(&pb);
}
