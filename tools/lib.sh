# Shared by the tools/ scripts: installs what the build needs and builds.
# Source it; do not run it.

BDP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Debian 12 packages the build and the tests need. Boost 1.81 (not the
# default 1.74) because 1.74 has no Boost.JSON.
BDP_PACKAGES=(
  g++ cmake ninja-build ccache pkg-config python3
  libboost1.81-dev libboost-json1.81-dev libboost-test1.81-dev
  libspdlog-dev libcli11-dev libbenchmark-dev
  libsoci-dev libpq-dev libsqlite3-dev sqlite3 postgresql
)

bdp_log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# What the fuzz targets (tools/fuzz.sh) need besides: clang with its
# runtimes (libFuzzer, the sanitizers) and llvm-symbolizer for stack traces.
BDP_FUZZ_PACKAGES=(clang libclang-rt-dev llvm)

# Installs the packages the build and the tests need, and any given as
# arguments, that are missing; does nothing when all are there.
bdp_install_deps() {
  local missing=()
  local pkg
  for pkg in "${BDP_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  bdp_log "installing missing packages: ${missing[*]}"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      echo "bdp: these Debian packages are missing and I am not root: ${missing[*]}" >&2
      echo "bdp: install them with: apt-get install ${missing[*]}" >&2
      return 1
    fi
  fi
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}"
}

# Configures (once) and builds build/ with the given preset and targets.
bdp_build() {
  local preset="$1"
  shift
  cd "$BDP_ROOT"
  if [ ! -f build/build.ninja ] || [ "$(bdp_cached_preset)" != "$preset" ]; then
    bdp_log "configuring build/ (preset $preset)"
    cmake --preset "$preset" >/dev/null
  fi
  bdp_log "building ${*:-everything}"
  if [ $# -gt 0 ]; then
    cmake --build --preset "$preset" --target "$@"
  else
    cmake --build --preset "$preset"
  fi
}

# Configures (once) and builds the given preset's own build folder (DIR,
# its binaryDir), e.g. bdp_build_in debug build-debug; targets as bdp_build.
bdp_build_in() {
  local preset="$1" dir="$2"
  shift 2
  cd "$BDP_ROOT"
  if [ ! -f "$dir/build.ninja" ]; then
    bdp_log "configuring $dir/ (preset $preset)"
    cmake --preset "$preset" >/dev/null
  fi
  bdp_log "building ${*:-everything} in $dir/"
  if [ $# -gt 0 ]; then
    cmake --build --preset "$preset" --target "$@"
  else
    cmake --build --preset "$preset"
  fi
}

# "ci" when build/ was configured with warnings as errors, else "default".
bdp_cached_preset() {
  if grep -q '^BDP_WERROR:BOOL=ON' build/CMakeCache.txt 2>/dev/null; then echo ci; else echo default; fi
}

# The preset for this environment: CI builds treat warnings as errors.
bdp_preset() {
  if [ "${CI:-}" = "true" ]; then echo ci; else echo default; fi
}
