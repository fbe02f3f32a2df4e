/* tests/fuzz/fuzz.h: the libFuzzer entry point every fuzz target defines.  The same target is
   linked either with libFuzzer (./configure --enable-fuzzing CC=clang; `make fuzz`) or with
   replay_main.c, which feeds the committed corpus through it inside `make check`.  A finding
   is a crash, a sanitizer report or an abort() of a target's own invariant check. */
#pragma once
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
