#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (preset "fuzz": clang, ASan +
# UBSan, build-fuzz/) and runs each, one after the other, on a copy of its
# checked-in corpus. Exits non-zero when any target finds a crash, a leak, a
# sanitizer report, a timeout or an out-of-memory, and names the input.
#
#   tools/fuzz.sh [SECONDS] [RUNSruns] [TARGET...]
#
#   tools/fuzz.sh                      60 s of each target
#   tools/fuzz.sh 600 fuzz_csv         10 minutes of fuzz_csv
#   tools/fuzz.sh 10000000runs         ten million executions of each target
#   tools/fuzz.sh 10000000runs 1800    the same, but at most 30 minutes each
#
# Each target works in build-fuzz/fuzz/work/<target>/: corpus/ (the
# checked-in seeds plus what the fuzzer found, kept between runs), fuzz.log,
# and findings/ (the inputs of this run's findings; the previous run's are
# moved to findings.previous/). The checked-in corpus (tests/fuzz/corpus/)
# only changes by hand; docs/reliability.md says how to fold finds back.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

TARGETS=(fuzz_config fuzz_csv fuzz_record_json fuzz_csv_index)
# Longest input per target: a few times the largest real file of its kind.
declare -A MAX_LEN=([fuzz_config]=8192 [fuzz_csv]=4096 [fuzz_record_json]=8192
                    [fuzz_csv_index]=8192)

seconds=""
runs_limit=""
selected=()
for arg in "$@"; do
  if [[ "$arg" =~ ^[0-9]+$ ]]; then
    seconds="$arg"
  elif [[ "$arg" =~ ^([0-9]+)runs$ ]]; then
    runs_limit="${BASH_REMATCH[1]}"
  elif [[ -v "MAX_LEN[$arg]" ]]; then
    selected+=("$arg")
  else
    echo "bdp: fuzz.sh: '$arg' is neither a time (SECONDS, RUNSruns) nor a target" \
         "(${TARGETS[*]})" >&2
    exit 2
  fi
done
[ ${#selected[@]} -gt 0 ] || selected=("${TARGETS[@]}")
# Both limits may be given: the run stops at the first reached.
[ -n "$seconds" ] || [ -n "$runs_limit" ] || seconds=60
limit=()
limit_text=""
if [ -n "$runs_limit" ]; then
  limit+=(-runs="$runs_limit")
  limit_text="$runs_limit executions"
fi
if [ -n "$seconds" ]; then
  limit+=(-max_total_time="$seconds")
  limit_text="${limit_text:+$limit_text or }$seconds s"
fi

bdp_install_deps "${BDP_FUZZ_PACKAGES[@]}"
bdp_build_in fuzz build-fuzz "${selected[@]}"

cd "$BDP_ROOT"
# The targets write their scratch files (a project file, an index) under
# TMPDIR; on a tmpfs the index target's fsyncs cost nothing.
scratch_parent="${TMPDIR:-}"
if [ -z "$scratch_parent" ]; then
  if [ -d /dev/shm ] && [ -w /dev/shm ]; then scratch_parent=/dev/shm; else scratch_parent=/tmp; fi
fi
scratch="$(mktemp -d "$scratch_parent/bdp-fuzz.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT

# A small quarantine: far fewer page faults per execution, and a freed block
# still waits 16 MiB of frees before it is reused.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:quarantine_size_mb=16}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# A figure from the final stats in $work/fuzz.log.
final_stat() { sed -n "s/^stat::$1: *//p" "$work/fuzz.log" | tail -1; }

failed=()
for target in "${selected[@]}"; do
  work="$BDP_ROOT/build-fuzz/fuzz/work/$target"
  mkdir -p "$work/corpus"
  cp -n "$BDP_ROOT/tests/fuzz/corpus/$target/"* "$work/corpus/"
  rm -rf "$work/findings.previous"
  [ ! -d "$work/findings" ] || mv "$work/findings" "$work/findings.previous"
  mkdir -p "$work/findings"
  args=(-max_len="${MAX_LEN[$target]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$work/findings/" "${limit[@]}")
  [ ! -f "$BDP_ROOT/tests/fuzz/$target.dict" ] || args+=(-dict="$BDP_ROOT/tests/fuzz/$target.dict")

  bdp_log "fuzzing $target for $limit_text"
  status=0
  started="$(date +%s.%N)"
  (cd "$work" && TMPDIR="$scratch" "$BDP_ROOT/build-fuzz/fuzz/$target" "${args[@]}" corpus) \
    >"$work/fuzz.log" 2>&1 || status=$?

  elapsed="$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')"
  runs="$(final_stat number_of_executed_units)"
  rate="$(awk -v n="${runs:-0}" -v t="$elapsed" 'BEGIN { printf "%.0f", (t > 0 ? n / t : n) }')"
  inputs="$(find "$work/corpus" -type f | wc -l)"
  findings=()
  while IFS= read -r -d '' file; do findings+=("$file"); done \
    < <(find "$work/findings" -type f ! -name 'slow-unit-*' -print0)
  if [ "$status" -eq 0 ] && [ ${#findings[@]} -eq 0 ]; then
    printf 'fuzz %-17s passed: %s executions in %s s (%s/s), %s corpus inputs, no findings\n' \
      "$target" "${runs:-?}" "$elapsed" "$rate" "$inputs"
  else
    failed+=("$target")
    printf 'fuzz %-17s FAILED (exit %s) after %s executions; log %s\n' \
      "$target" "$status" "${runs:-?}" "${work#"$BDP_ROOT"/}/fuzz.log"
    for file in "${findings[@]}"; do printf '  finding: %s\n' "${file#"$BDP_ROOT"/}"; done
    # The report: from the first sanitizer or libFuzzer error line on.
    sed -n '/^==[0-9]*==\|^fuzz_[a-z_]*: \|runtime error:\|^SUMMARY/,$p' "$work/fuzz.log" |
      head -60 | sed 's/^/  | /'
    printf '  reproduce: build-fuzz/fuzz/%s %s\n' "$target" \
      "${findings[0]:+${findings[0]#"$BDP_ROOT"/}}"
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: passed: ${selected[*]} ($limit_text each)"
