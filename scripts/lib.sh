# shellcheck shell=bash
# Shared by scripts/run and scripts/test: install what is missing, configure, build.
# Source it; it defines functions only (plus TILE32_ROOT) and changes nothing by itself.

TILE32_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TILE32_JOBS=${TILE32_JOBS:-2}   # the machines this project runs on have 2 cores

# Debian 12 packages the build needs. ocl-icd-opencl-dev is what libdnnl-dev only *recommends*, but
# Debian's dnnl CMake package refuses to load without OpenCL, so it is named here explicitly.
TILE32_DEB_PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libhwy-dev libtbb-dev libgtest-dev libbenchmark-dev nlohmann-json3-dev libcli11-dev libplplot-dev
  libdnnl-dev ocl-icd-opencl-dev
)

# What only the tests need: a browser to render the report's SVG charts (tests/cli/svg_renders.sh), and
# Python to run bench/compare.py on a fixed benchmark JSON (tests/cli/compare_tables.sh).
TILE32_TEST_DEB_PACKAGES=(chromium python3)

tile32_log() { printf '==> %s\n' "$*"; }
tile32_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Installs the packages of TILE32_DEB_PACKAGES (and the packages given as arguments) that are not installed
# yet. Nothing is fetched when all are present; apt-get update runs once, only when something is missing.
tile32_install_deps() {
  local missing=() pkg
  if ! command -v dpkg-query >/dev/null 2>&1; then
    tile32_log "dpkg-query not found: not a Debian system, assuming the dependencies are installed"
    return 0
  fi
  for pkg in "${TILE32_DEB_PACKAGES[@]}" "$@"; do
    if ! dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null | grep -q '^install ok installed$'; then
      missing+=("$pkg")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    tile32_log "all Debian packages present"
    return 0
  fi
  tile32_log "installing missing Debian packages: ${missing[*]}"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      printf 'error: not root and no sudo: install %s by hand\n' "${missing[*]}" >&2
      return 1
    fi
    sudo=(sudo)
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q \
    || { echo "error: apt-get update failed" >&2; return 1; }
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${missing[@]}" || { echo "error: apt-get install failed: ${missing[*]}" >&2; return 1; }
}

# tile32_build <build-dir> [extra cmake -D arguments...]
# Configures (Ninja, Release unless the arguments say otherwise) and builds with TILE32_JOBS jobs.
tile32_build() {
  local dir=$1; shift
  case "$dir" in /*) ;; *) dir="$TILE32_ROOT/$dir" ;; esac
  # A tree configured earlier with another generator cannot be reused by CMake: start it afresh.
  if [ -f "$dir/CMakeCache.txt" ] && ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$dir/CMakeCache.txt"; then
    tile32_log "$dir was configured with another generator; reconfiguring from scratch"
    rm -rf "$dir/CMakeCache.txt" "$dir/CMakeFiles"
  fi
  tile32_log "configuring $dir"
  cmake -S "$TILE32_ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" || return 1
  tile32_log "building $dir (-j$TILE32_JOBS)"
  cmake --build "$dir" --parallel "$TILE32_JOBS" || return 1
}
