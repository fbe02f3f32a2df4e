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

/*
 * Real captures of other --query-gpu field lists (fixtures/README.md says where each comes
 * from): the same line code as collectord's query, driven through the capture's own field
 * list.  No public capture of collectord's exact field list was found.
 */
static void test_csv_real(void)
{
        struct gpu_list l = { .n = 99 };
        char *buf;
        size_t len;

        /* bpytop issue 26: --format=csv (header, units), GTX 1080 Ti + GTX 1060 */
        buf = slurp("nvidia-smi-bpytop26-csv.csv", &len);
        is_int(gpu_parse_nvsmi_csv(buf, len, &l), -EBADMSG,
               "bpytop26: a header/units capture is refused by collectord's parser, not misread");
        is_int(gpu_parse_nvsmi_csv_fields(buf, len, NULL, GPU_CSV_UNITS, &l), -EINVAL,
               "bpytop26: no field list and no header: EINVAL");
        is_int(gpu_parse_nvsmi_csv_fields(buf, len, NULL, GPU_CSV_HEADER, &l), -EBADMSG,
               "bpytop26: values with units refused without GPU_CSV_UNITS");
        is_int(gpu_parse_nvsmi_csv_fields(buf, len,
                                          "gpu_name,fan.speed,memory.total,memory.used,"
                                          "utilization.gpu,temperature.gpu,power.draw,clocks.gr,"
                                          "clocks.mem",
                                          GPU_CSV_HEADER | GPU_CSV_UNITS, &l),
               0, "bpytop26: parsed with its field list, header and units");
        is_int((long long)l.n, 2, "bpytop26: 2 GPUs");
        is_str(l.v[0].name, "GeForce GTX 1080 Ti", "bpytop26: gpu0 name");
        ok(l.v[0].index == 0 && l.v[1].index == 1, "bpytop26: numbered in output order");
        ok(l.v[0].has_util && l.v[0].util_pct == 36, "bpytop26: gpu0 36 %% (unit stripped)");
        is_u64(l.v[0].mem_used_bytes, UINT64_C(2856) * 1048576, "bpytop26: gpu0 2856 MiB used");
        is_u64(l.v[0].mem_total_bytes, UINT64_C(11175) * 1048576, "bpytop26: gpu0 11175 MiB");
        is_double(l.v[0].power_w, 106.56, 1e-9, "bpytop26: gpu0 106.56 W");
        ok(l.v[0].has_temp && l.v[0].temp_c == 60, "bpytop26: gpu0 60 C");
        ok(l.v[1].has_util && l.v[1].util_pct == 0, "bpytop26: idle gpu1 is 0 %%, present");
        ok(!l.v[0].uuid[0], "bpytop26: no uuid queried, none invented");
        free(buf);

        /* Ricks-Lab/gpu-utils issue 83: noheader,nounits, 19 fields, bare "N/A" (driver 440) */
        buf = slurp("nvidia-smi-gpu-utils83-nounits.csv", &len);
        is_int(gpu_parse_nvsmi_csv(buf, len, &l), -EBADMSG,
               "gpu-utils83: 19 columns refused by collectord's 8-column parser");
        is_int(gpu_parse_nvsmi_csv_fields(buf, len,
                                          "power.limit,power.min_limit,power.max_limit,"
                                          "memory.total,vbios_version,driver_version,name,"
                                          "gpu_uuid,power.draw,temperature.gpu,"
                                          "temperature.memory,clocks.current.graphics,clocks.sm,"
                                          "clocks.mem,utilization.gpu,utilization.memory,"
                                          "fan.speed,pcie.link.width.current,pstate",
                                          0, &l),
               0, "gpu-utils83: parsed with its field list");
        is_int((long long)l.n, 1, "gpu-utils83: 1 GPU");
        is_str(l.v[0].uuid, "GPU-22b2c6ac-2d49-4863-197c-9c469071178a", "gpu-utils83: uuid");
        ok(gpu_dev_matches(&l.v[0], "GPU-22b2c6ac-2d49-4863-197c-9c469071178a") &&
                   gpu_dev_matches(&l.v[0], "22b2c6ac-2d49-4863-197c-9c469071178a"),
           "gpu-utils83: matched by uuid with and without GPU-");
        is_str(l.v[0].name, "GeForce RTX 2080", "gpu-utils83: name");
        ok(l.v[0].has_util && l.v[0].util_pct == 86, "gpu-utils83: 86 %%");
        is_double(l.v[0].power_w, 176.98, 1e-9, "gpu-utils83: 176.98 W");
        is_u64(l.v[0].mem_total_bytes, UINT64_C(7979) * 1048576, "gpu-utils83: 7979 MiB total");
        ok(!l.v[0].has_mem_used, "gpu-utils83: memory.used not queried: absent, not 0");
        ok(l.v[0].has_temp && l.v[0].temp_c == 45, "gpu-utils83: 45 C");
        free(buf);

        /* enkore/i3pystatus PR 776: the same GPU before and after a driver update */
        static const char *const i3[] = { "nvidia-smi-i3pystatus776-new.csv",
                                          "nvidia-smi-i3pystatus776-old.csv" };
        for (size_t i = 0; i < ARRAY_SIZE(i3); i++) {
                buf = slurp(i3[i], &len);
                is_int(gpu_parse_nvsmi_csv_fields(buf, len,
                                                  "memory.total,memory.free,memory.used,"
                                                  "temperature.gpu,fan.speed,utilization.gpu,"
                                                  "utilization.memory",
                                                  0, &l),
                       0, "%s: parsed", i3[i]);
                ok(l.n == 1 && l.v[0].has_util && l.v[0].util_pct == 0 && l.v[0].has_mem_used &&
                           l.v[0].mem_used_bytes == 0 && l.v[0].temp_c == 44 &&
                           l.v[0].mem_total_bytes == UINT64_C(2004) * 1048576,
                   "%s: idle GPU: 0 %% and 0 MiB present, 44 C, 2004 MiB", i3[i]);
                free(buf);
        }

        /* tutulino/Megaminer issue 235: csv,noheader (units), [Not Supported] everywhere */
        buf = slurp("nvidia-smi-megaminer235-noheader.csv", &len);
        is_int(gpu_parse_nvsmi_csv_fields(buf, len,
                                          "gpu_name,utilization.gpu,utilization.memory,"
                                          "temperature.gpu,power.draw,power.limit,fan.speed,"
                                          "pstate,clocks.current.graphics,clocks.current.memory,"
                                          "power.max_limit,power.default_limit",
                                          GPU_CSV_UNITS, &l),
               0, "megaminer235: parsed with its field list and units");
        ok(l.n == 1 && !l.v[0].has_util && !l.v[0].has_power,
           "megaminer235: [Not Supported] utilization and power are absent, not 0");
        ok(l.v[0].has_temp && l.v[0].temp_c == 52, "megaminer235: 52 C");
        is_str(l.v[0].name, "GeForce GTX 770", "megaminer235: name");
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
        test_csv_real();
        test_rocm();
        return done_testing();
}
