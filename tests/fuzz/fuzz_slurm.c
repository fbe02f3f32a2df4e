/*
 * tests/fuzz/fuzz_slurm.c: slurmrestd JSON (nodes and jobs, v0.0.37 and v0.0.38) and Slurm
 * host lists.  Invariants: no crash, no leak (lists cleared), expanded host names non-empty.
 */
#include "config.h"
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "hostlist.h"
#include "slurmrest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *s = (const char *)data;
        const char *field = NULL;
        struct slurm_node_list nodes;
        struct slurm_job_list jobs;
        struct hostlist hl;
        int64_t e;

        memset(&nodes, 0, sizeof(nodes));
        memset(&jobs, 0, sizeof(jobs));
        memset(&hl, 0, sizeof(hl));
        for (int v = 0; v < 2; v++) {
                enum slurmrest_version ver = v ? SLURMREST_V0038 : SLURMREST_V0037;

                if (slurmrest_parse_nodes(s, size, ver, &nodes, &field) == 0)
                        slurm_node_list_clear(&nodes);
                if (slurmrest_parse_jobs(s, size, ver, &jobs, &field) == 0)
                        slurm_job_list_clear(&jobs);
        }
        (void)!slurmrest_parse_error_number(s, size, &e);
        if (hostlist_expand(s, size, 4096, &hl) == 0) {
                for (size_t i = 0; i < hl.n; i++)
                        if (!hl.v[i] || !hl.v[i][0])
                                abort();
                hostlist_clear(&hl);
        }
        return 0;
}
