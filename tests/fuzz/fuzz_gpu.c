/*
 * tests/fuzz/fuzz_gpu.c: nvidia-smi CSV and rocm-smi JSON output, as the tools might print
 * it (or a broken tool might).  Invariant: the device count never exceeds the list's capacity.
 */
#include "config.h"
#include "fuzz.h"

#include <stdlib.h>

#include "gpu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static struct gpu_list l; /* large: not on the stack */

        if (gpu_parse_nvsmi_csv((const char *)data, size, &l) == 0 && l.n > GPU_MAX_DEVICES)
                abort();
        if (gpu_parse_rocm_json((const char *)data, size, &l) == 0 && l.n > GPU_MAX_DEVICES)
                abort();
        /* the header-driven form: the first line names the columns, values may carry units */
        if (gpu_parse_nvsmi_csv_fields((const char *)data, size, NULL,
                                       GPU_CSV_HEADER | GPU_CSV_UNITS, &l) == 0 &&
            l.n > GPU_MAX_DEVICES)
                abort();
        return 0;
}
