/*
 * lib/gpu.h: parsers for the GPU vendor tools' output, and matching a device to the
 * identifiers a job's prolog recorded (jobs.gpu_devices).  Pure: no I/O, no logging.
 *   nvidia-smi --query-gpu=index,uuid,name,utilization.gpu,memory.used,memory.total,
 *              power.draw,temperature.gpu --format=csv,noheader,nounits
 *   rocm-smi --showuse --showmeminfo vram --showpower --showtemp --showuniqueid --json
 * Values the tool marks unavailable ("[N/A]", "[Not Supported]", "N/A", "N/A (Secondary die)")
 * are absent (their has_ flag is false), never zero.  Thread-safe.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

#define GPU_MAX_DEVICES 64
#define GPU_NVSMI_FIELDS                                                                   \
        "index,uuid,name,utilization.gpu,memory.used,memory.total,power.draw,temperature.gpu"
#define GPU_NVSMI_QUERY "--query-gpu=" GPU_NVSMI_FIELDS

enum gpu_vendor { GPU_NVIDIA, GPU_AMD };

/* A plain value type; callers read every field. */
struct gpu_dev {
        enum gpu_vendor vendor;
        unsigned index;
        char uuid[96]; /* nvidia "GPU-…"/"MIG-…"; amd "Unique ID" ("0x…"); "" when unknown */
        char name[96];
        bool has_util, has_mem_used, has_mem_total, has_power, has_temp;
        double util_pct, power_w, temp_c;
        uint64_t mem_used_bytes, mem_total_bytes;
};

struct gpu_list {
        struct gpu_dev v[GPU_MAX_DEVICES];
        size_t n;
};

/*
 * nvidia-smi CSV (no header, no units): exactly 8 comma-separated columns per line.
 * 0 (possibly 0 devices for empty output), -EBADMSG (wrong column count, bad number,
 * duplicate index), -E2BIG (more than GPU_MAX_DEVICES).  *ret untouched on failure.
 */
MUST_CHECK int gpu_parse_nvsmi_csv(const char *buf, size_t len, struct gpu_list *ret);

#define GPU_CSV_HEADER 0x1 /* --format=csv without "noheader": the first line names the columns */
#define GPU_CSV_UNITS  0x2 /* without "nounits": values may end in their unit ("36 %", "W") */

/*
 * nvidia-smi CSV of any --query-gpu field list (`fields` as given to --query-gpu, e.g.
 * "gpu_name,utilization.gpu,memory.used"; may be NULL with GPU_CSV_HEADER, then the header
 * names the columns).  index, uuid/gpu_uuid, name/gpu_name, utilization.gpu, memory.used,
 * memory.total, power.draw and temperature.gpu fill the device; other columns are skipped.
 * Without an index column, devices are numbered in output order (nvidia-smi lists them by
 * index).  gpu_parse_nvsmi_csv() is this with GPU_NVSMI_FIELDS and no flags.
 * 0, -EINVAL (no fields and no header, or over 64 fields), -EBADMSG, -E2BIG; *ret untouched
 * on failure.
 */
MUST_CHECK int gpu_parse_nvsmi_csv_fields(const char *buf, size_t len, const char *fields,
                                          unsigned flags, struct gpu_list *ret);

/*
 * rocm-smi --json: an object of "card<N>" objects with string values.  Lines before the
 * first line that starts with '{' are skipped (rocm-smi prints warnings such as
 * "Exception caught: map::at" on stdout); the JSON itself is parsed strictly (no trailing
 * bytes).  0, -EBADMSG, -E2BIG.  *ret untouched on failure.
 */
MUST_CHECK int gpu_parse_rocm_json(const char *buf, size_t len, struct gpu_list *ret);

/*
 * Whether the job device identifier `id` (as the prolog recorded it: "GPU-<uuid>", "MIG-…",
 * a bare uuid without the "GPU-" prefix, an index "3", "card3", or an AMD unique id "0x…")
 * names device d.
 */
bool gpu_dev_matches(const struct gpu_dev *d, const char *id);

/* The identifier stored as gpu_samples.gpu_id: the uuid when known, else the index.  buf
   needs 96 bytes.  Returns buf. */
const char *gpu_dev_id(const struct gpu_dev *d, char *buf, size_t size);
