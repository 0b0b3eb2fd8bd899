#!/usr/bin/env bash
# Installs a build of bdp the way a user does, moves the installed tree (it
# must be relocatable) and checks it from a user's side:
#   1. the layout, $ORIGIN-relative RPATHs, no path of the build or source
#      tree in the package files;
#   2. the installed bdp finds its plugins and defaults by itself;
#   3. every installed header compiles on its own, with pkg-config's flags;
#   4. the three examples/ projects, copied out of the source tree, build
#      against the install with find_package(bdp);
#   5. the example backend passes the conformance suite and stores a
#      config-driven run; the example processor runs in a config-driven run;
#      `bdp plugins list` shows both from BDP_PLUGIN_PATH, and the processor,
#      once installed into the prefix, without it;
#   6. the legacy application runs.
#
# usage: tools/test-install.sh BUILD_DIR [WORK_DIR]
#   BUILD_DIR  a complete build of bdp (cmake --build BUILD_DIR)
#   WORK_DIR   where to install and build the examples; kept afterwards for
#              inspection. Without it a temporary folder is used and removed.
# Registered with ctest as install_and_examples (tests/CMakeLists.txt).
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: $0 BUILD_DIR [WORK_DIR]" >&2
  exit 2
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "$1" && pwd)"
cmake="${CMAKE:-cmake}"
ctest="${CTEST:-ctest}"

if [ $# -eq 2 ]; then
  mkdir -p "$2"
  work="$(cd "$2" && pwd)"
  rm -rf "${work:?}"/*
else
  work="$(mktemp -d "${TMPDIR:-/tmp}/bdp-test-install.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
fi
log="$work/step.log"

step() { printf '==> %s\n' "$*"; }
fail() {
  echo "test-install: $*" >&2
  exit 1
}
# check WHAT COMMAND...: runs COMMAND with its output in the step log; on
# failure shows the log and fails naming WHAT and the command.
check() {
  local what="$1"
  shift
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    fail "$what failed: $*"
  fi
}
# expect_plugin NAME FILE: the last `bdp plugins list` shows plugin NAME
# loaded from FILE (the same file, however the path is spelled).
expect_plugin() {
  local file
  file="$(awk -v name="$1" '$1 == name { print $NF }' "$log")"
  [ -n "$file" ] && [ "$file" -ef "$2" ] || {
    cat "$log" >&2
    fail "bdp plugins list: plugin '$1' is not listed from $2"
  }
}
# expect_in_log WHAT TEXT: the last command's output contains TEXT.
expect_in_log() {
  grep -qF -- "$2" "$log" || {
    cat "$log" >&2
    fail "$1: '$2' missing in the output above"
  }
}

[ -f "$build/cmake_install.cmake" ] || fail "$build is not a configured bdp build"
# The examples build with the compiler bdp was built with: the host refuses
# plugins from another C++ ABI or a newer standard library.
cxx="$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")"
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
launcher=()
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  # Cache hits across runs although every run builds in a new folder.
  export CCACHE_BASEDIR="$work" CCACHE_NOHASHDIR=1
fi
# Nothing from the environment may help the install find its parts.
unset BDP_PLUGIN_PATH BDP_DEFAULTS LD_LIBRARY_PATH CMAKE_PREFIX_PATH PKG_CONFIG_PATH

# ---------------------------------------------------------------- 1. install
step "installing $build, then moving the installed tree"
check "cmake --install" "$cmake" --install "$build" --prefix "$work/staged"
mkdir -p "$work/moved"
mv "$work/staged" "$work/moved/bdp"
prefix="$work/moved/bdp"

core="$(find "$prefix" -name 'libbdp_core.so' -print -quit)"
[ -n "$core" ] || fail "no libbdp_core.so under $prefix"
libdir="$(dirname "$core")"
for f in bin/bdp share/bdp/defaults.json include/bdp/sdk/plugin.hpp include/bdp/container.hpp \
  include/bdp/conformance/conformance.hpp; do
  [ -f "$prefix/$f" ] || fail "not installed: $prefix/$f"
done
for f in libbdp_sdk.so libbdp_conformance.a bdp/plugins/libbdp_memory.so \
  bdp/plugins/libbdp_csv.so bdp/plugins/libbdp_processors.so cmake/bdp/bdpConfig.cmake \
  cmake/bdp/bdpConfigVersion.cmake cmake/bdp/bdpTargets.cmake cmake/bdp/bdpPlugin.cmake \
  pkgconfig/bdp.pc; do
  [ -e "$libdir/$f" ] || fail "not installed: $libdir/$f"
done
# RPATHs relative to $ORIGIN only.
for f in "$prefix/bin/bdp" "$core" "$libdir"/bdp/plugins/*.so; do
  rpath="$(readelf -d "$f" | sed -n 's/.*(R\(UN\)\{0,1\}PATH).*\[\(.*\)\]/\2/p')"
  case "$rpath" in
    '$ORIGIN'*) ;;
    *) fail "$f: RPATH '$rpath' is not relative to \$ORIGIN: the tree cannot be moved" ;;
  esac
  case "$rpath" in *"$build"* | *"$root"*) fail "$f: RPATH '$rpath' names the build" ;; esac
done
if grep -rlF -e "$build" -e "$root" "$libdir/cmake" "$libdir/pkgconfig" "$prefix/include" \
  >"$log"; then
  cat "$log" >&2
  fail "the installed files above name the build or source tree"
fi

# ---------------------------------------------------------------- 2. bdp itself
step "the moved bdp finds its plugins and defaults"
check "bdp plugins list" "$prefix/bin/bdp" plugins list
for p in memory csv processors; do expect_plugin "$p" "$libdir/bdp/plugins/libbdp_$p.so"; done
cat >"$work/minimal.json" <<'EOF'
{"project": "minimal", "stages": [{"name": "g", "processor": "generate", "params": {"rows": 1}}]}
EOF
check "bdp config show --explain" "$prefix/bin/bdp" config show --explain "$work/minimal.json"
expect_in_log "bdp config show --explain" "$prefix/share/bdp/defaults.json"

# ---------------------------------------------------------------- 3. headers
step "every installed header compiles on its own (pkg-config bdp)"
export PKG_CONFIG_PATH="$libdir/pkgconfig"
check "pkg-config" pkg-config --exists --print-errors "bdp = $(sed -n 's/^Version: //p' "$libdir/pkgconfig/bdp.pc")"
[ "$(pkg-config --variable=plugindir bdp)" -ef "$libdir/bdp/plugins" ] ||
  fail "pkg-config's plugindir '$(pkg-config --variable=plugindir bdp)' is not $libdir/bdp/plugins"
read -r -a cflags <<<"$(pkg-config --cflags bdp)"
while IFS= read -r header; do
  rel="${header#"$prefix/include/"}"
  if ! echo "#include <$rel>" | "$cxx" "${cflags[@]}" -fsyntax-only -x c++ - >"$log" 2>&1; then
    cat "$log" >&2
    fail "the installed header $rel does not compile on its own"
  fi
done < <(find "$prefix/include" -name '*.hpp' | sort)

# ---------------------------------------------------------------- 4. examples
for example in jsonl-backend processor-plugin legacy-app; do
  step "building examples/$example against the install (find_package(bdp))"
  cp -R "$root/examples/$example" "$work/$example"
  check "configuring examples/$example" "$cmake" -S "$work/$example" -B "$work/build-$example" \
    "${generator[@]}" "${launcher[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_PREFIX_PATH="$prefix"
  check "building examples/$example" "$cmake" --build "$work/build-$example" -j 2
done

# ---------------------------------------------------------------- 5. plugins
step "the example backend passes the conformance suite"
check "the conformance suite on examples/jsonl-backend" \
  "$ctest" --test-dir "$work/build-jsonl-backend" --output-on-failure

step "the installed bdp lists the example plugins from BDP_PLUGIN_PATH"
export BDP_PLUGIN_PATH="$work/build-jsonl-backend:$work/build-processor-plugin"
check "bdp plugins list" "$prefix/bin/bdp" plugins list
expect_plugin jsonl "$work/build-jsonl-backend/libbdp_jsonl.so"
expect_plugin example_stages "$work/build-processor-plugin/libbdp_example_stages.so"
check "bdp plugins inspect" "$prefix/bin/bdp" plugins inspect \
  "$work/build-processor-plugin/libbdp_example_stages.so"
expect_in_log "bdp plugins inspect" "share_of_total"

step "bdp run with the example backend and the example processor"
check "bdp run examples/jsonl-backend/project.json" \
  "$prefix/bin/bdp" run "$work/jsonl-backend/project.json"
ls "$work"/jsonl-backend/bdp-data/jsonl/data/*/generate/default/v1.jsonl >/dev/null 2>&1 ||
  fail "bdp run examples/jsonl-backend/project.json stored no record in the jsonl backend's folder"
step "bdp doctor finds a damaged record of the example backend and moves it aside"
jsonl_project="$work/jsonl-backend/project.json"
damaged=$(ls "$work"/jsonl-backend/bdp-data/jsonl/data/*/big/default/v1.jsonl)
printf '{"id": ' >"$damaged"
if "$prefix/bin/bdp" --config "$jsonl_project" doctor >"$log" 2>&1; then
  cat "$log" >&2
  fail "bdp doctor found no damage in $damaged"
fi
expect_in_log "bdp doctor" "$damaged"
check "bdp ls beside a damaged record" "$prefix/bin/bdp" --config "$jsonl_project" ls
check "bdp doctor --quarantine" "$prefix/bin/bdp" --config "$jsonl_project" doctor --quarantine
check "bdp doctor after the quarantine" "$prefix/bin/bdp" --config "$jsonl_project" doctor
expect_in_log "bdp doctor after the quarantine" "no damage"
ls "$work"/jsonl-backend/bdp-data/jsonl/quarantine/*/data/*/big/default/v1.jsonl >/dev/null 2>&1 ||
  fail "bdp doctor --quarantine did not keep $damaged in the jsonl backend's quarantine folder"

check "bdp run examples/processor-plugin/project.json" \
  "$prefix/bin/bdp" run "$work/processor-plugin/project.json" --json
cp "$log" "$work/shares.json"
check "the example processor's output" python3 - "$work/shares.json" <<'EOF'
import json, sys
process = json.load(open(sys.argv[1]))
stage = next(s for s in process["stages"] if s["name"] == "shares")
assert process["status"] == "completed", "process " + process["status"]
assert stage["status"] == "completed", "stage shares " + stage["status"]
assert stage["rows"] == 4 and stage["columns"] == 3, "shares: %s rows, %s columns" % (
    stage["rows"], stage["columns"])
assert stage["decisions"]["total"] == 100, "shares: total " + str(stage["decisions"]["total"])
EOF

step "installed into the prefix, the example processor is found without BDP_PLUGIN_PATH"
unset BDP_PLUGIN_PATH
check "installing examples/processor-plugin" "$cmake" --install "$work/build-processor-plugin" \
  --prefix "$prefix"
check "bdp plugins list" "$prefix/bin/bdp" plugins list
expect_plugin example_stages "$libdir/bdp/plugins/libbdp_example_stages.so"
check "bdp run examples/processor-plugin/project.json" \
  "$prefix/bin/bdp" run "$work/processor-plugin/project.json"

# ---------------------------------------------------------------- 6. embedding
step "the legacy application runs"
check "examples/legacy-app" "$work/build-legacy-app/legacy_app"
expect_in_log "examples/legacy-app" "kept 6 records of 3 processes"

step "install test passed"
