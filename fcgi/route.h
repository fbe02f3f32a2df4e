/*
 * fcgi/route.h: the static route table of hjo-api (STYLE 4.8).  An unknown path is 404, a known
 * path with a method it does not serve is 405 with an Allow header.
 */
#pragma once
#include <stddef.h>

#include "api.h"
#include "auth.h"

struct http_req;

/* The database connection a route's handler is given (docs/scale-out.md). */
enum route_db {
        ON_PRIMARY = 0, /* writes, and anything that must see the latest commit */
        ON_REPLICA,     /* reads that may lag by the replica's replay delay */
};

struct route {
        const char *method;
        const char *pattern; /* segments; "{id}" captures one non-empty segment */
        api_handler_fn handler;
        enum auth_need need; /* who may call it (fcgi/auth.h); unset = admin only */
        enum route_db db;    /* unset = the primary */
};

/* The route patterns, for request counters ("/v1/jobs/{id}", ...). */
size_t route_count(void);
const char *const *route_names(void);

/* Finds the route, checks the caller's credentials (401/403) and calls its handler, or answers
   404/405 itself. */
void route_dispatch(struct http_req *req);
