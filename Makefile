# bertc — build, test, fuzz, demo.  `make help` lists the targets.
CC      ?= cc
NVCC    ?= $(shell command -v nvcc 2>/dev/null || echo /usr/local/cuda/bin/nvcc)
OPT     ?= -O2
CFLAGS  := -std=c11 $(OPT) -g -Wall -Wextra -Wshadow -Wno-unused-parameter -D_GNU_SOURCE \
           -pthread -fopenmp -MMD -MP $(EXTRA_CFLAGS)
# OpenBLAS, OpenMP build (shares our OpenMP thread pool), linked statically so the
# binary runs on machines without the Debian package (the GPU machine).
BLAS_DIR ?= /usr/lib/x86_64-linux-gnu/openblas-openmp
BLAS_INC ?= /usr/include/x86_64-linux-gnu/openblas-openmp
CFLAGS  += -I$(BLAS_INC)
# zlib and libgomp are linked statically too: the binary then needs only glibc.
LDLIBS  := $(BLAS_DIR)/libopenblas.a -static-libgcc -Wl,-Bstatic -lz -lgomp -Wl,-Bdynamic -lm -lpthread -ldl
BUILD   := build

LIB_SRC  := $(sort $(wildcard src/*/*.c src/*/*/*.c))
LIB_SRC  := $(filter-out src/cli/%,$(LIB_SRC))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
TEST_SRC := $(sort $(wildcard tests/*.c))
FUZZ_SRC := $(sort $(wildcard fuzz/fuzz_*.c))
CU_SRC   := $(sort $(wildcard src/backend/cuda/*.cu))
# The files that touch activations are compiled once per activation type (cuda_common.h).
CU_PREC_SRC := $(addprefix src/backend/cuda/,cuda_ops.cu cuda_dense.cu cuda_attention.cu cuda_m2.cu)
CU_ONCE_SRC := $(filter-out $(CU_PREC_SRC),$(CU_SRC))

obj = $(patsubst %.c,$(1)/%.o,$(2))

# CUDA objects and link flags (rules further down)
CU_ARCH := -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90a,code=sm_90a
# per-thread default streams: kernels launched without a stream can be captured in graphs
CU_FLAGS := -O3 -std=c++17 --default-stream per-thread -lineinfo $(CU_ARCH)
CU_OBJ  := $(patsubst %.cu,$(BUILD)/cuda/%.o,$(CU_ONCE_SRC)) \
           $(patsubst %.cu,$(BUILD)/cuda/f32/%.o,$(CU_PREC_SRC)) \
           $(patsubst %.cu,$(BUILD)/cuda/bf16/%.o,$(CU_PREC_SRC))
CUDA_LIB ?= $(patsubst %/bin/nvcc,%/lib64,$(NVCC))
# The CUDA runtime linked statically (the binary needs only the driver); cuBLASLt and
# cuFFT (M2's long convolutions), which the toolkit ships only as shared libraries,
# dynamically: libcublasLt.so.13 and libcufft.so.12 of the toolkit or of a CUDA 13
# PyTorch must be found at run time (rpath or LD_LIBRARY_PATH).
CU_LDLIBS := -L$(CUDA_LIB) -lcublasLt -lcufft -Wl,-rpath,'$$ORIGIN':$(CUDA_LIB) -lcudart_static -lculibos -lrt -ldl -lpthread -lstdc++

.PHONY: all test test-asan fuzz fuzz-build gpu test-gpu clean help demo data tasks dna parity-tokenizer bench-tokenizer vocab-jaccard

all: bertc

# ./bertc is linked with the CUDA backend under GPU=1: relink when that choice changes.
LINK_MODE := $(if $(GPU),gpu,cpu)
$(shell mkdir -p $(BUILD); [ "$$(cat $(BUILD)/link-mode 2>/dev/null)" = "$(LINK_MODE)" ] || echo $(LINK_MODE) > $(BUILD)/link-mode)

help:
	@echo "make                 build ./bertc (CPU)"
	@echo "make GPU=1           build ./bertc with the CUDA backend too (nvcc; sm_80, sm_90a; --device cuda)"
	@echo "make gpu             only compile the CUDA sources"
	@echo "make test-gpu        build build/test_gpu (CUDA ops vs CPU ops) and run it (needs a GPU)"
	@echo "make test            build and run the C tests"
	@echo "make test-asan       the same tests under AddressSanitizer + UBSan"
	@echo "make fuzz            run every libFuzzer target for FUZZ_SECONDS (default 60) each"
	@echo "make demo            fetch a small real corpus and run the pipeline on the CPU"
	@echo "make data            fetch the real corpora (tools/data) into data/"
	@echo "make tasks           labelled finetuning tasks data/tasks/{spam,brown_genre} (after make data)"
	@echo "make dna             real DNA (pinned Debian packages): data/dna/{pretrain,eval}.fa + few-shot task data/dna/tasks/coding"
	@echo "make parity-tokenizer compare bertc with npm tokenizers@0.23.2 on the real corpora"
	@echo "make bench-tokenizer tokens/s of bertc vs npm tokenizers"
	@echo "make vocab-jaccard   token-set overlap of bertc vocab vs the HF trainer"

# ---- library, CLI, tests (normal build) ----------------------------------
$(BUILD)/libbertc.a: $(call obj,$(BUILD),$(LIB_SRC))
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

bertc: $(call obj,$(BUILD),$(CLI_SRC)) $(BUILD)/libbertc.a $(if $(GPU),$(CU_OBJ)) $(BUILD)/link-mode
	$(CC) -o $@ $(filter-out $(BUILD)/link-mode,$^) $(LDLIBS) $(if $(GPU),$(CU_LDLIBS))

$(BUILD)/test_bertc: $(call obj,$(BUILD),$(TEST_SRC)) $(BUILD)/libbertc.a
	$(CC) -o $@ $^ $(LDLIBS)

test: $(BUILD)/test_bertc bertc
	./$(BUILD)/test_bertc $(T)

# ---- sanitizers ------------------------------------------------------------
ASAN_DIR   := $(BUILD)/asan
ASAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

$(ASAN_DIR)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -O1 $(ASAN_FLAGS) -c $< -o $@

$(ASAN_DIR)/test_bertc: $(call obj,$(ASAN_DIR),$(TEST_SRC) $(LIB_SRC))
	$(CC) $(ASAN_FLAGS) -o $@ $^ $(LDLIBS)

test-asan: $(ASAN_DIR)/test_bertc
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ./$(ASAN_DIR)/test_bertc $(T)

# ---- fuzzing (clang + libFuzzer) -------------------------------------------
FUZZ_CC      ?= clang
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS  := -std=c11 -O1 -g -D_GNU_SOURCE -pthread -Wno-unknown-pragmas -I$(BLAS_INC) \
                -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
FUZZ_BINS    := $(patsubst fuzz/%.c,$(FUZZ_DIR)/%,$(FUZZ_SRC))

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/obj/fuzz/fuzz_%.o $(call obj,$(FUZZ_DIR)/obj,$(LIB_SRC))
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(BLAS_DIR)/libopenblas.a -lz -lm -fopenmp

.SECONDARY:
fuzz-build: $(FUZZ_BINS)

# Each target runs on a scratch copy of its committed seed corpus; crashes land in $(FUZZ_DIR)/.
fuzz: fuzz-build
	@set -e; for b in $(FUZZ_BINS); do n=$$(basename $$b); \
	  mkdir -p $(FUZZ_DIR)/corpus/$$n; cp -r fuzz/corpus/$$n/. $(FUZZ_DIR)/corpus/$$n/ 2>/dev/null || true; \
	  echo "== $$n ($(FUZZ_SECONDS) s)"; \
	  $$b -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/$$n- \
	      $(FUZZ_DIR)/corpus/$$n 2>&1 | grep -E "stat::number_of_executed_units|ERROR|SUMMARY|crash-|Done" ; \
	  test $${PIPESTATUS[0]} -eq 0; done
fuzz: SHELL := /bin/bash

# ---- CUDA backend (tests/gpu/ need a device: `make test-gpu`) ---------------
CU_HDR  := $(wildcard src/backend/cuda/*.h) src/backend/ops.h
GPU_TEST_SRC := $(sort $(wildcard tests/gpu/*.c))
gpu: $(CU_OBJ)
$(BUILD)/cuda/%.o: %.cu $(CU_HDR)
	@mkdir -p $(dir $@)
	$(NVCC) $(CU_FLAGS) -c $< -o $@
$(BUILD)/cuda/f32/%.o: %.cu $(CU_HDR)
	@mkdir -p $(dir $@)
	$(NVCC) $(CU_FLAGS) -DCU_BF16=0 -c $< -o $@
$(BUILD)/cuda/bf16/%.o: %.cu $(CU_HDR)
	@mkdir -p $(dir $@)
	$(NVCC) $(CU_FLAGS) -DCU_BF16=1 -c $< -o $@

$(BUILD)/test_gpu: $(call obj,$(BUILD),$(GPU_TEST_SRC) tests/test_main.c tests/pretrain_check.c) $(CU_OBJ) $(BUILD)/libbertc.a
	$(CC) -o $@ $^ $(LDLIBS) $(CU_LDLIBS)

test-gpu: $(BUILD)/test_gpu
	./$(BUILD)/test_gpu $(T)

# ---- data, demo, parity, benchmarks ----------------------------------------
data:
	bash tools/data/fetch_all.sh

tasks:
	bash tools/data/tasks.sh

dna:
	bash tools/data/dna.sh

demo: bertc
	bash tools/demo.sh

parity-tokenizer: bertc
	bash tools/parity/tokenizer_parity.sh

bench-tokenizer: bertc
	bash tools/parity/tokenizer_bench.sh

vocab-jaccard: bertc
	bash tools/parity/vocab_jaccard.sh

clean:
	rm -rf $(BUILD) bertc

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
