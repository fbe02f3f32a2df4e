/*
 * fcgi/api.h: the /v1 handlers and /metrics.  Each handler answers the request exactly once
 * (through fcgi/http.h) and returns nothing; `id` is the captured {id} path segment or NULL.
 * The job events may instead leave it to their worker's batch (req->deferred, fcgi/evbatch.h).
 */
#pragma once

struct http_req;

typedef void (*api_handler_fn)(struct http_req *req, const char *id);

void api_health(struct http_req *req, const char *id);
void api_job_started(struct http_req *req, const char *id);
void api_job_finished(struct http_req *req, const char *id);
void api_jobs_list(struct http_req *req, const char *id);
void api_job_create(struct http_req *req, const char *id);
void api_job_get(struct http_req *req, const char *id);
void api_job_patch(struct http_req *req, const char *id);
void api_job_delete(struct http_req *req, const char *id);
void api_samples_list(struct http_req *req, const char *id);
void api_sample_add(struct http_req *req, const char *id);
void api_samples_post(struct http_req *req, const char *id);
void api_node_metrics(struct http_req *req, const char *id);
void api_metrics(struct http_req *req, const char *id);
