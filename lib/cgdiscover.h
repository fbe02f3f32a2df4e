/*
 * lib/cgdiscover.h: finding Slurm job cgroups (see ../shared/docs/slurm-facts.md, "Job cgroup
 * locations").  cgroup v2:
 *   <root>/system.slice/slurmstepd.scope/job_<N>
 *   <root>/system.slice/<node>_slurmstepd.scope/job_<N>          (multiple-slurmd builds)
 *   <root>/system.slice/[<node>_]slurmstepd.scope/<SLUID>        (Slurm 26.05: s + 13 base32)
 * cgroup v1 (one tree per controller; listed from cpuacct, else memory):
 *   <root>/<controller>/slurm[_<node>]/uid_<uid>/job_<N>
 * The root is derived like Slurm does (the cgroup of PID 1 below the cgroup2 mount) unless the
 * caller overrides it.  A job_<N> directory maps to the id "<prefix><N>"; a SLUID directory is
 * reported with an empty id, for the caller to map through jobs.cgroup_path.
 * Not thread-safe per list; no logging.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

#define CGD_PATH_MAX 1024

enum cgd_version { CGD_V1 = 1, CGD_V2 = 2 };

struct cgd_root {
        enum cgd_version version;
        char path[CGD_PATH_MAX]; /* v2: the directory holding system.slice; v1: the directory
                                    holding the controller mounts (cpuacct, memory, ...) */
};

/* One discovered job directory.  Plain value type: callers read every field. */
struct cgd_job {
        char job_id[272];         /* "<prefix><N>", "" for an unmapped SLUID directory */
        char name[64];            /* the directory name: "job_<N>" or the SLUID */
        char node[128];           /* the <node> of "<node>_slurmstepd.scope"/"slurm_<node>", or "" */
        char rel[CGD_PATH_MAX];   /* path relative to root (v2) / to each controller (v1) */
        bool is_sluid;
};

struct cgd_list {
        struct cgd_job *v;
        size_t n, cap;
};

/* "job_123" -> 123.  false for anything else ("job_", "job_1x", "job_01" is accepted). */
bool cgd_parse_job_dir(const char *name, size_t len, uint64_t *ret_jobid);
/* A Slurm 26.05 SLUID: 's' followed by exactly 13 Crockford base32 characters
   (0-9, A-Z without I, L, O, U; lower case accepted as Crockford allows). */
bool cgd_is_sluid(const char *name, size_t len);

/*
 * The cgroup v2 path of PID 1 from the text of /proc/1/cgroup ("0::/path" line).
 * Writes the path (starting with '/') into buf.  0, -ENODATA (no v2 line), -EBADMSG,
 * -ENAMETOOLONG.  Pure.
 */
MUST_CHECK int cgd_parse_proc_cgroup(const char *text, size_t len, char *buf, size_t size);

/*
 * Finds the root.  With override (a directory, e.g. a fixture tree): v1 when it holds a
 * cpuacct/ or memory/ directory and no cgroup.controllers/system.slice, else v2.  Without: v2
 * when /sys/fs/cgroup is a cgroup2 mount (root = mount + PID 1's path), else v1 at
 * /sys/fs/cgroup.  0, -ENOENT (override missing), -ENAMETOOLONG.
 */
MUST_CHECK int cgd_detect(const char *override, struct cgd_root *ret);

/*
 * Lists the job directories below root into *list (emptied first; memory kept for reuse).
 * Returns the number of jobs, or -errno (-ENOMEM).  Missing Slurm directories are 0 jobs.
 */
MUST_CHECK int cgd_scan(const struct cgd_root *root, const char *id_prefix, struct cgd_list *list);
void cgd_list_clear(struct cgd_list *list); /* frees; list reusable */

/* Opens a directory below root (v2: root/rel; v1: root/<controller>/rel) as an O_PATH-free
   O_RDONLY|O_DIRECTORY|O_CLOEXEC|O_NOFOLLOW fd.  controller is NULL for v2.  fd or -errno. */
MUST_CHECK int cgd_open_dir(const struct cgd_root *root, const char *controller, const char *rel);
