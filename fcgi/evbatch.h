/*
 * fcgi/evbatch.h: job events applied in batches.  A worker that accepts a job-started or
 * job-finished event while more requests wait on its listening socket keeps the event instead
 * of answering it, accepts the waiting requests (answering the others as usual), and then
 * applies all events it kept in one transaction (sql/0068, hjo_events_apply) and answers each
 * one with its own result.  An event that arrives alone is applied alone, as before.
 *
 * Each answer is sent after the transaction that holds its event committed, so nothing
 * acknowledged is lost; an event whose rules refuse it (an error) is undone alone and answered
 * with its own error, as it would have been alone.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "compiler.h"

struct db;
struct db_err;
struct http_req;

enum evbatch_kind {
        EVBATCH_STARTED,  /* the 15 parameters of STMT_JOB_STARTED */
        EVBATCH_FINISHED, /* the 13 parameters of STMT_JOB_FINISHED */
};

/* Per worker: at most `max` events a transaction (HJO_EVENT_BATCH_MAX; 1 = never keep one);
   listen_fd is the socket whose waiting connections make a batch worth gathering. */
void evbatch_setup(int listen_fd, size_t max);
/*
 * Keeps the event of req (its statement parameters, copied) for the batch when a batch is being
 * gathered or another request is waiting, and returns 0: req is then answered by
 * evbatch_flush().  Otherwise (nothing waiting, batching off, batch full, out of memory)
 * returns < 0 and the caller applies the event alone.
 */
MUST_CHECK int evbatch_defer(struct http_req *req, enum evbatch_kind kind,
                             const char *const *params, const char *job_id);
/* Whether events are kept, waiting for evbatch_flush(). */
bool evbatch_pending(void);
/* Applies the kept events in one transaction on db and answers each request. */
void evbatch_flush(struct db *db);
/* An event's answers, alone or from a batch: 200 {"status","job_id","message"}, or the error
   of its statement (logged unless it is the client's: 400, 404, 409). */
void evbatch_answer(struct http_req *req, const char *status, const char *job_id,
                    const char *message);
void evbatch_answer_error(struct http_req *req, int r, const struct db_err *err,
                          const char *stmt, const char *job_id);
