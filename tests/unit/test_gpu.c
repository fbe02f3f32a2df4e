/* tests/unit/test_gpu.c: lib/gpu.c nvidia-smi CSV and rocm-smi JSON parsers, device matching;
   the fixtures of tests/collectord/fixtures (see the README there for their origin). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu.h"
#include "tap.h"

static char *slurp(const char *name, size_t *len)
{
        char path[4096];
        const char *top = getenv("top_srcdir"); /* lint-ok: test */
        FILE *f;
        char *buf = malloc(1 << 20);

        snprintf(path, sizeof(path), "%s/tests/collectord/fixtures/%s", top ? top : ".", name);
        f = fopen(path, "re");
        if (!f || !buf)
                abort();
        *len = fread(buf, 1, (1 << 20) - 1, f);
        buf[*len] = '\0';
        fclose(f);
        return buf;
}

struct csv_case {
        const char *in;
        int want;
        size_t n;
};

static const struct csv_case csv_cases[] = {
        { "", 0, 0 },
        { "\n", 0, 0 },
        { "0, GPU-a, Tesla T4, 5, 100, 15360, 27.5, 40\n", 0, 1 },
        { "0, GPU-a, Tesla T4, 5, 100, 15360, 27.5\n", -EBADMSG, 0 },           /* 7 columns */
        { "0, GPU-a, Tesla T4, 5, 100, 15360, 27.5, 40, 1\n", -EBADMSG, 0 },    /* 9 columns */
        { "0, GPU-a, T4, 101, 100, 15360, 27.5, 40\n", -EBADMSG, 0 },           /* > 100 % */
        { "0, GPU-a, T4, abc, 100, 15360, 27.5, 40\n", -EBADMSG, 0 },
        { "x, GPU-a, T4, 1, 100, 15360, 27.5, 40\n", -EBADMSG, 0 },
        { "0, GPU-a, T4, 1, 1, 2, 3, 4\n0, GPU-b, T4, 1, 1, 2, 3, 4\n", -EBADMSG, 0 }, /* dup */
        { "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n",
          -EBADMSG, 0 },
        { "0, [N/A], T4, [N/A], [N/A], [N/A], [Not Supported], N/A\n", 0, 1 },
};

static void test_csv(void)
{
        struct gpu_list l = { .n = 99 };
        char *buf;
        size_t len;

        for (size_t i = 0; i < ARRAY_SIZE(csv_cases); i++) {
                l.n = 99;
                is_int(gpu_parse_nvsmi_csv(csv_cases[i].in, strlen(csv_cases[i].in), &l),
                       csv_cases[i].want, "csv case %zu", i);
                is_int((long long)l.n, csv_cases[i].want == 0 ? (long long)csv_cases[i].n : 99,
                       "csv case %zu count (untouched on failure)", i);
        }
        buf = slurp("nvidia-smi-4gpu.csv", &len);
        is_int(gpu_parse_nvsmi_csv(buf, len, &l), 0, "fixture nvidia-smi-4gpu.csv");
        is_int((long long)l.n, 4, "4 GPUs");
        ok(l.v[0].has_util && l.v[0].util_pct == 97, "gpu0 utilization");
        is_u64(l.v[0].mem_used_bytes, UINT64_C(71234) * 1048576, "gpu0 memory MiB -> bytes");
        ok(l.v[1].has_util && l.v[1].util_pct == 0, "idle gpu1 is 0 %%, present");
        ok(!l.v[2].has_util && !l.v[2].has_mem_used && !l.v[2].has_power, "[N/A] absent");
        ok(!l.v[3].has_power && l.v[3].has_util, "[Not Supported] absent");
        is_str(l.v[0].uuid, "GPU-8f2c3a41-5d7e-4b1c-9a2f-0e6d1c3b5a70", "gpu0 uuid");
        ok(gpu_dev_matches(&l.v[0], "GPU-8f2c3a41-5d7e-4b1c-9a2f-0e6d1c3b5a70"), "match by uuid");
        ok(gpu_dev_matches(&l.v[0], "8f2c3a41-5d7e-4b1c-9a2f-0e6d1c3b5a70"),
           "match a uuid recorded without GPU- (no double prefix)");
        ok(!gpu_dev_matches(&l.v[0], "GPU-GPU-8f2c3a41-5d7e-4b1c-9a2f-0e6d1c3b5a70"),
           "a doubled prefix does not match");
        ok(gpu_dev_matches(&l.v[1], "1") && !gpu_dev_matches(&l.v[1], "0"), "match by index");
        free(buf);
}

static void test_rocm(void)
{
        struct gpu_list l = { .n = 99 };
        char *buf;
        size_t len;
        static const char *const bad[] = {
                "", "{", "[]", "{\"card0\": {\"GPU use (%)\": \"abc\"}}",
                "{\"card0\": {\"GPU use (%)\": \"5\"}} x", "{\"cardX\": {}}",
                "{\"card0\": \"str\"}",
        };
        static const char noisy[] = "Exception caught: map::at\n{\"card1\": {\"GPU use (%)\": "
                                    "\"3\", \"Unique ID\": \"0x1234abcd\", \"Current Socket "
                                    "Graphics Package Power (W)\": \"N/A (Secondary die)\"},"
                                    " \"system\": {\"Driver version\": \"6.8\"}}\n";

        buf = slurp("rocm-smi-7900xtx.json", &len);
        is_int(gpu_parse_rocm_json(buf, len, &l), 0, "fixture rocm-smi-7900xtx.json (real capture)");
        is_int((long long)l.n, 1, "one card");
        ok(l.v[0].has_util && l.v[0].util_pct == 0, "GPU use 0 %% present");
        ok(l.v[0].has_power && l.v[0].power_w == 19.0, "Average Graphics Package Power");
        ok(l.v[0].has_temp && l.v[0].temp_c == 49.0, "edge temperature");
        is_u64(l.v[0].mem_used_bytes, 794341376, "VRAM used bytes");
        is_u64(l.v[0].mem_total_bytes, UINT64_C(25753026560), "VRAM total bytes");
        ok(gpu_dev_matches(&l.v[0], "0") && gpu_dev_matches(&l.v[0], "card0"), "match index");
        free(buf);
        is_int(gpu_parse_rocm_json(noisy, strlen(noisy), &l), 0, "warning line before the JSON");
        ok(l.n == 1 && l.v[0].index == 1 && !l.v[0].has_power, "N/A (Secondary die) absent");
        ok(gpu_dev_matches(&l.v[0], "0x1234ABCD"), "match AMD unique id");
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                l.n = 99;
                is_int(gpu_parse_rocm_json(bad[i], strlen(bad[i]), &l), -EBADMSG, "bad rocm %zu", i);
                is_int((long long)l.n, 99, "bad rocm %zu leaves the list", i);
        }
}

int main(void)
{
        test_csv();
        test_rocm();
        return done_testing();
}
