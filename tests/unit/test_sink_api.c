/* tests/unit/test_sink_api.c: what collectord's api sink does with each HTTP answer. */
#include "config.h"

#include "sink_api.h"
#include "tap.h"

static const struct {
        long status;
        enum sink_api_verdict want;
} cases[] = {
        { 200, SINK_API_DELIVERED }, { 204, SINK_API_DELIVERED }, { 400, SINK_API_REJECTED },
        { 413, SINK_API_REJECTED },  { 422, SINK_API_REJECTED },  { 401, SINK_API_RETRY },
        { 403, SINK_API_RETRY },     { 408, SINK_API_RETRY },     { 429, SINK_API_RETRY },
        { 500, SINK_API_RETRY },     { 502, SINK_API_RETRY },     { 503, SINK_API_RETRY },
        { 0, SINK_API_RETRY },       { 301, SINK_API_RETRY },
};

int main(void)
{
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
                is_int(sink_api_classify(cases[i].status), cases[i].want, "HTTP %ld", cases[i].status);
        return done_testing();
}
