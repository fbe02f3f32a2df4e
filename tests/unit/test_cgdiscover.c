/* tests/unit/test_cgdiscover.c: lib/cgdiscover.c names, /proc/1/cgroup, scans of the fixture
   trees written by tests/collectord/make_fixtures.sh. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgdiscover.h"
#include "tap.h"

static bool has_job(const struct cgd_list *l, const char *id, const char *node)
{
        for (size_t i = 0; i < l->n; i++) {
                if (strcmp(l->v[i].job_id, id) == 0 && strcmp(l->v[i].node, node) == 0)
                        return true;
        }
        return false;
}

int main(void)
{
        char dir[] = "/tmp/hjo-test-cgd-XXXXXX", cmd[8192], path[4096], buf[64];
        const char *top = getenv("top_srcdir"); /* lint-ok: test */
        struct cgd_list l = { 0 };
        struct cgd_root root;
        uint64_t id = 0;

        ok(cgd_parse_job_dir("job_123", 7, &id) && id == 123, "job_123");
        ok(!cgd_parse_job_dir("job_", 4, &id) && !cgd_parse_job_dir("job_1x", 6, &id) &&
           !cgd_parse_job_dir("step_0", 6, &id), "not job dirs");
        ok(cgd_is_sluid("s5K1KKYAYG5D00", 14), "SLUID");
        ok(!cgd_is_sluid("s5K1KKYAYG5D0", 13) && !cgd_is_sluid("s5K1KKYAYG5DI0", 14) &&
           !cgd_is_sluid("x5K1KKYAYG5D00", 14), "not SLUIDs (length, I, prefix)");
        is_int(cgd_parse_proc_cgroup("12:cpu:/x\n0::/init.scope\n", 25, buf, sizeof(buf)), 0,
               "v2 line of /proc/1/cgroup");
        is_str(buf, "/init.scope", "its path");
        is_int(cgd_parse_proc_cgroup("1:cpu:/\n", 8, buf, sizeof(buf)), -ENODATA, "v1 only");

        if (!mkdtemp(dir))
                abort();
        snprintf(cmd, sizeof(cmd), "sh %s/tests/collectord/make_fixtures.sh %s/fx",
                 top ? top : ".", dir);
        if (system(cmd) != 0) /* lint-ok: test fixture generator */
                abort();
        snprintf(path, sizeof(path), "%s/fx/v2", dir);
        is_int(cgd_detect(path, &root), 0, "detect v2 fixture");
        is_int(root.version, CGD_V2, "v2");
        is_int(cgd_scan(&root, "slurm-", &l), 5, "v2: 3 job dirs + 2 SLUID dirs");
        ok(has_job(&l, "slurm-101", "") && has_job(&l, "slurm-102", ""), "job ids with prefix");
        ok(has_job(&l, "", ""), "SLUID reported unmapped (empty id)");
        snprintf(path, sizeof(path), "%s/fx/v2multi", dir);
        is_int(cgd_detect(path, &root), 0, "detect v2 multi-slurmd");
        is_int(cgd_scan(&root, "", &l), 2, "two scopes");
        ok(has_job(&l, "201", "nodeA") && has_job(&l, "202", "nodeB"),
           "<node>_slurmstepd.scope names the node; empty prefix");
        snprintf(path, sizeof(path), "%s/fx/v1", dir);
        is_int(cgd_detect(path, &root), 0, "detect v1");
        is_int(root.version, CGD_V1, "v1");
        is_int(cgd_scan(&root, "slurm-", &l), 2, "v1 jobs");
        ok(has_job(&l, "slurm-301", "") && has_job(&l, "slurm-302", "nodeC"), "slurm_<node>");
        snprintf(path, sizeof(path), "%s/nonexistent", dir);
        is_int(cgd_detect(path, &root), -ENOENT, "missing root");
        cgd_list_clear(&l);
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        if (system(cmd) != 0) /* lint-ok: test cleanup */
                diag("cleanup failed");
        return done_testing();
}
