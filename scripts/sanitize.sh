#!/usr/bin/env bash
# The sanitizer run: bathy built with AddressSanitizer and UBSan into
# build-asan/ (-DBATHY_SANITIZE=ON), then the runtime's unit tests and the
# end-to-end tests that feed bathy hostile and ordinary input, run with those
# binaries. An out-of-bounds access, use after free, leak or undefined
# behaviour in bathy's code aborts the process and fails the test. Generated
# kernels are not instrumented by the compiler: the same tests also run them
# bounds-checked (--check-bounds) in scripts/test.sh.
# Usage: scripts/sanitize.sh [pytest args...]   (prints "sanitizers: ..." last)
set -uo pipefail
cd "$(dirname "$0")/.."
DIR=${BATHY_ASAN_BUILD_DIR:-build-asan}
if [ ! -f "$DIR/build.ninja" ]; then
  cmake -G Ninja -S . -B "$DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DBATHY_SANITIZE=ON > /dev/null || exit 1
fi
ninja -C "$DIR" -j "$(nproc)" bathy-run bathy-import bathy-opt bathyc bathy-meta bathy-cache bathy-run-runtime bathy_runtime_tests bathy-serve bathy_serve_tests > "$DIR/build.log" 2>&1 || {
  tail -n 40 "$DIR/build.log"; exit 1; }
# Leaks in LLVM's and MLIR's own process-lifetime objects are theirs.
export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp:print_suppressions=0"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
failed=0
echo "== sanitizers: runtime unit tests =="
if ! "$DIR/bin/bathy_runtime_tests" --gtest_brief=1 > "$DIR/runtime-tests.log" 2>&1; then
  tail -n 60 "$DIR/runtime-tests.log"; failed=1
else
  tail -n 2 "$DIR/runtime-tests.log"
fi
if ! "$DIR/bin/bathy_serve_tests" --gtest_brief=1 > "$DIR/serve-tests.log" 2>&1; then
  tail -n 60 "$DIR/serve-tests.log"; failed=1
else
  tail -n 2 "$DIR/serve-tests.log"
fi
echo "== sanitizers: end-to-end (bathy-run, bathy-import under ASan/UBSan) =="
BATHY_BUILD_DIR="$PWD/$DIR" .venv/bin/python -m pytest -q -p no:cacheprovider \
  test/python/test_hostile_inputs.py test/python/test_hostile_files.py \
  test/python/test_cli.py test/python/test_import_errors.py test/python/test_property.py \
  "test/python/test_artifact.py::test_artifact_outputs_equal_the_jits[tiny_cnn]" \
  test/python/test_artifact.py::test_meta_shows_the_manifest \
  test/python/test_artifact.py::test_every_section_byte_flip_is_refused \
  test/python/test_artifact.py::test_truncations_and_version_are_refused \
  test/python/test_artifact.py::test_a_section_from_another_artifact_is_refused \
  test/python/test_artifact.py::test_signed_artifacts_and_trusted_keys \
  test/python/test_artifact.py::test_run_time_checks_hold_for_artifacts \
  "test/python/test_e2e_cpu.py::test_bundled_cnn" \
  "test/python/test_e2e_cpu.py::test_ordinary_ops_compile_and_match" \
  "test/python/test_e2e_cpu.py::test_text_models" \
  test/python/test_cuda.py::test_cuda_emu_bundled_cnn \
  test/python/test_cuda.py::test_cuda_emu_text_models \
  test/python/test_cuda.py::test_cuda_emu_reports_device_checks \
  test/python/test_shapes.py::test_a_trace_on_buckets \
  test/python/test_shapes.py::test_a_causal_model_padded_at_the_end \
  test/python/test_shapes.py::test_bucketed_runs_match_the_generic_plan \
  test/python/test_shapes.py::test_hot_shapes_are_specialised_in_the_background \
  test/python/test_shapes.py::test_a_failed_specialisation_is_reported_once \
  test/python/test_shapes.py::test_bad_traces_are_refused \
  test/python/test_shapes.py::test_processes_racing_on_one_key \
  test/python/test_shapes.py::test_a_damaged_entry_is_removed_and_rebuilt \
  test/python/test_serve.py::test_inference_over_http_and_grpc_matches_the_runtime \
  test/python/test_serve.py::test_batched_responses_equal_requests_run_alone \
  test/python/test_serve.py::test_a_full_queue_refuses_with_429_and_timeouts_expire \
  test/python/test_serve.py::test_hostile_requests_get_4xx_and_the_server_is_unharmed \
  test/python/test_serve.py::test_the_repository_cannot_be_escaped \
  test/python/test_serve.py::test_tokens_and_scopes \
  test/python/test_serve.py::test_new_versions_are_swapped_in_under_load \
  test/python/test_serve.py::test_sigterm_finishes_requests_in_flight "$@" > "$DIR/pytest.log" 2>&1
rc=$?
tail -n 15 "$DIR/pytest.log"
[ "$rc" = 0 ] || failed=1
if [ "$failed" = 0 ]; then echo "sanitizers: clean"; else echo "sanitizers: FAILED"; fi
exit "$failed"
