/*
 * lib/cgdiscover.c: scanning the Slurm cgroup locations for job directories.  Slurm's own
 * cgroup/v2 plugin places its scope under the cgroup of PID 1 (src/plugins/cgroup/v2/
 * cgroup_v2.c, _get_self_cg_path / "system.slice/%s_slurmstepd.scope" with multiple-slurmd),
 * so the root is derived the same way.  Directories are walked with openat/fdopendir, never
 * following symlinks.
 */
#include "config.h"
#include "cgdiscover.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "num.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

#define SCOPE_SUFFIX "_slurmstepd.scope"

bool cgd_parse_job_dir(const char *name, size_t len, uint64_t *ret_jobid)
{
        if (len <= 4 || memcmp(name, "job_", 4) != 0)
                return false;
        return num_parse_u64(name + 4, len - 4, UINT64_C(0xffffffff), ret_jobid) == 0;
}

bool cgd_is_sluid(const char *name, size_t len)
{
        if (len != 14 || name[0] != 's')
                return false;
        for (size_t i = 1; i < len; i++) {
                char c = name[i];

                if (c >= 'a' && c <= 'z')
                        c = (char)(c - 'a' + 'A');
                if (c >= '0' && c <= '9')
                        continue;
                if (c < 'A' || c > 'Z' || c == 'I' || c == 'L' || c == 'O' || c == 'U')
                        return false;
        }
        return true;
}

int cgd_parse_proc_cgroup(const char *text, size_t len, char *buf, size_t size)
{
        size_t pos = 0;

        while (pos < len) {
                const char *nl = memchr(text + pos, '\n', len - pos);
                size_t end = nl ? (size_t)(nl - text) : len;

                if (end - pos >= 3 && memcmp(text + pos, "0::", 3) == 0) {
                        size_t n = end - pos - 3;

                        if (n == 0 || text[pos + 3] != '/' || memchr(text + pos + 3, '\0', n))
                                return -EBADMSG;
                        if (n >= size)
                                return -ENAMETOOLONG;
                        memcpy(buf, text + pos + 3, n);
                        buf[n] = '\0';
                        return 0;
                }
                pos = end + 1;
        }
        return -ENODATA;
}

static int set_path(char *dst, size_t size, const char *a, const char *b)
{
        int n = snprintf(dst, size, "%s%s", a, b);

        if (n < 0 || (size_t)n >= size)
                return -ENAMETOOLONG;
        return 0;
}

static bool is_dir_at(int dfd, const char *name)
{
        struct stat st;

        return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

static int detect_override(const char *override, struct cgd_root *ret)
{
        struct cgd_root root = { 0 };
        bool v1;
        int dfd, r;

        dfd = open(override, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        v1 = (is_dir_at(dfd, "cpuacct") || is_dir_at(dfd, "memory")) &&
             !is_dir_at(dfd, "system.slice") && faccessat(dfd, "cgroup.controllers", F_OK, 0) < 0;
        (void)close(dfd);
        root.version = v1 ? CGD_V1 : CGD_V2;
        r = set_path(root.path, sizeof(root.path), override, "");
        if (r < 0)
                return r;
        *ret = root;
        return 0;
}

int cgd_detect(const char *override, struct cgd_root *ret)
{
        struct cgd_root root = { 0 };
        struct statfs sfs;
        char text[4096], self[CGD_PATH_MAX];
        ssize_t n;
        int fd, r;

        if (override)
                return detect_override(override, ret);
        if (statfs("/sys/fs/cgroup", &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC) {
                root.version = CGD_V2;
                fd = open("/proc/1/cgroup", O_RDONLY | O_CLOEXEC);
                n = fd >= 0 ? read(fd, text, sizeof(text) - 1) : -1;
                if (fd >= 0)
                        (void)close(fd);
                /* unreadable or not there (hidepid): the mount root, like Slurm's fallback */
                if (n <= 0 || cgd_parse_proc_cgroup(text, (size_t)n, self, sizeof(self)) < 0)
                        strcpy(self, "/"); /* lint-ok: constant fits */
                /* "/" -> "/sys/fs/cgroup"; "/init.scope" is systemd's PID 1 leaf: use its
                   parent, as Slurm strips it */
                if (strcmp(self, "/init.scope") == 0 || strcmp(self, "/") == 0)
                        self[0] = '\0';
                r = set_path(root.path, sizeof(root.path), "/sys/fs/cgroup", self);
        } else {
                root.version = CGD_V1;
                r = set_path(root.path, sizeof(root.path), "/sys/fs/cgroup", "");
        }
        if (r < 0)
                return r;
        *ret = root;
        return 0;
}

static int list_add(struct cgd_list *l, const struct cgd_job *j)
{
        if (l->n == l->cap) {
                size_t cap = l->cap ? l->cap * 2 : 64;
                struct cgd_job *v = reallocarray(l->v, cap, sizeof(*v));

                if (!v)
                        return -ENOMEM;
                l->v = v;
                l->cap = cap;
        }
        l->v[l->n++] = *j;
        return 0;
}

static int opendir_at(int dfd, const char *name, DIR **ret)
{
        int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        DIR *d;

        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                int r = -errno;

                (void)close(fd);
                return r;
        }
        *ret = d;
        return 0;
}

/* Adds the job directories found in directory d (relative path `rel` below the root). */
static int scan_jobs(DIR *d, const char *rel, const char *node, const char *prefix,
                     bool allow_sluid, struct cgd_list *l)
{
        struct dirent *de;
        int r, count = 0;

        while ((de = readdir(d))) {
                struct cgd_job j = { 0 };
                size_t len = strlen(de->d_name);
                uint64_t id;

                if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
                        continue;
                if (cgd_parse_job_dir(de->d_name, len, &id)) {
                        int n = snprintf(j.job_id, sizeof(j.job_id), "%s%llu", prefix,
                                         (unsigned long long)id);

                        if (n < 0 || (size_t)n >= sizeof(j.job_id))
                                return -ENAMETOOLONG;
                } else if (allow_sluid && cgd_is_sluid(de->d_name, len)) {
                        j.is_sluid = true;
                } else {
                        continue;
                }
                if (len >= sizeof(j.name) || strlen(node) >= sizeof(j.node))
                        return -ENAMETOOLONG;
                memcpy(j.name, de->d_name, len + 1);
                memcpy(j.node, node, strlen(node) + 1);
                r = snprintf(j.rel, sizeof(j.rel), "%s/%s", rel, de->d_name);
                if (r < 0 || (size_t)r >= sizeof(j.rel))
                        return -ENAMETOOLONG;
                r = list_add(l, &j);
                if (r < 0)
                        return r;
                count++;
        }
        return count;
}

static int scan_v2(int rootfd, const char *prefix, struct cgd_list *l)
{
        DIR *slice = NULL, *scope = NULL;
        struct dirent *de;
        int r;

        r = opendir_at(rootfd, "system.slice", &slice);
        if (r == -ENOENT || r == -ENOTDIR)
                return 0;
        if (r < 0)
                return r;
        while ((de = readdir(slice))) {
                size_t len = strlen(de->d_name), sl = strlen(SCOPE_SUFFIX);
                char node[128] = "", rel[CGD_PATH_MAX];
                int n;

                if (strcmp(de->d_name, "slurmstepd.scope") == 0) {
                        node[0] = '\0';
                } else if (len > sl && strcmp(de->d_name + len - sl, SCOPE_SUFFIX) == 0 &&
                           len - sl < sizeof(node)) {
                        memcpy(node, de->d_name, len - sl);
                        node[len - sl] = '\0';
                } else {
                        continue;
                }
                n = snprintf(rel, sizeof(rel), "system.slice/%s", de->d_name);
                if (n < 0 || (size_t)n >= sizeof(rel)) {
                        r = -ENAMETOOLONG;
                        goto out;
                }
                r = opendir_at(dirfd(slice), de->d_name, &scope);
                if (r == -ENOENT)
                        continue; /* slurmd restarted meanwhile */
                if (r < 0)
                        goto out;
                r = scan_jobs(scope, rel, node, prefix, /* allow_sluid= */ true, l);
                closedir(scope);
                scope = NULL;
                if (r < 0)
                        goto out;
        }
        r = 0;
out:
        if (slice)
                closedir(slice);
        return r;
}

/* Jobs of one v1 controller: <ctrl>/slurm[_<node>]/uid_<uid>/job_<N>. */
static int scan_v1_ctrl(int rootfd, const char *ctrl, const char *prefix, struct cgd_list *l)
{
        DIR *top = NULL, *uid = NULL;
        struct dirent *de, *ue;
        int r;

        r = opendir_at(rootfd, ctrl, &top);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        while ((de = readdir(top))) {
                const char *node;

                if (strcmp(de->d_name, "slurm") == 0)
                        node = "";
                else if (strncmp(de->d_name, "slurm_", 6) == 0 && de->d_name[6])
                        node = de->d_name + 6;
                else
                        continue;
                r = opendir_at(dirfd(top), de->d_name, &uid);
                if (r < 0)
                        continue;
                while ((ue = readdir(uid))) {
                        char rel[CGD_PATH_MAX];
                        DIR *jobs = NULL;
                        int n;

                        if (strncmp(ue->d_name, "uid_", 4) != 0)
                                continue;
                        n = snprintf(rel, sizeof(rel), "%s/%s", de->d_name, ue->d_name);
                        if (n < 0 || (size_t)n >= sizeof(rel)) {
                                r = -ENAMETOOLONG;
                                goto out;
                        }
                        if (opendir_at(dirfd(uid), ue->d_name, &jobs) < 0)
                                continue;
                        r = scan_jobs(jobs, rel, node, prefix, /* allow_sluid= */ false, l);
                        closedir(jobs);
                        if (r < 0)
                                goto out;
                }
                closedir(uid);
                uid = NULL;
        }
        r = 0;
out:
        if (uid)
                closedir(uid);
        closedir(top);
        return r;
}

/*
 * v1 keeps one tree per controller, and Slurm does not create the job in all of them: with
 * JobAcctGatherType=jobacct_gather/linux (a common setting) task/cgroup makes the job's
 * memory, cpuset and freezer cgroups but no cpuacct one.  So jobs are the union of the cpuacct
 * and memory trees (the same relative path in both); a job missing from cpuacct has its CPU
 * files "not available", never a zero.  Found on a real Slurm 22.05 (t_slurm_cgroup_v1.sh).
 */
static int scan_v1(int rootfd, const char *prefix, struct cgd_list *l)
{
        size_t n_cpu;
        int r;

        r = scan_v1_ctrl(rootfd, "cpuacct", prefix, l);
        if (r < 0)
                return r;
        n_cpu = l->n;
        r = scan_v1_ctrl(rootfd, "memory", prefix, l);
        if (r < 0)
                return r;
        /* drop memory-tree entries already found in the cpuacct tree */
        for (size_t i = n_cpu; i < l->n;) {
                bool dup = false;

                for (size_t k = 0; k < n_cpu && !dup; k++)
                        dup = strcmp(l->v[k].rel, l->v[i].rel) == 0 &&
                              strcmp(l->v[k].name, l->v[i].name) == 0;
                if (dup)
                        l->v[i] = l->v[--l->n];
                else
                        i++;
        }
        return 0;
}

int cgd_scan(const struct cgd_root *root, const char *id_prefix, struct cgd_list *list)
{
        int rootfd, r;

        list->n = 0;
        rootfd = open(root->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return -errno;
        if (root->version == CGD_V2)
                r = scan_v2(rootfd, id_prefix, list);
        else
                r = scan_v1(rootfd, id_prefix, list);
        (void)close(rootfd);
        if (r < 0)
                return r;
        return (int)list->n;
}

void cgd_list_clear(struct cgd_list *list)
{
        free(list->v);
        list->v = NULL;
        list->n = list->cap = 0;
}

int cgd_open_dir(const struct cgd_root *root, const char *controller, const char *rel)
{
        char path[CGD_PATH_MAX * 2 + 64];
        int n, fd;

        if (controller)
                n = snprintf(path, sizeof(path), "%s/%s/%s", root->path, controller, rel);
        else
                n = snprintf(path, sizeof(path), "%s/%s", root->path, rel);
        if (n < 0 || (size_t)n >= sizeof(path))
                return -ENAMETOOLONG;
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        return fd < 0 ? -errno : fd;
}
