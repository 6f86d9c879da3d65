#!/usr/bin/env bash
# HTAP Studio set-up: installs the Debian packages that are missing, configures and builds,
# then does one job. Safe to run again: it installs and configures only what is not there yet.
#
#   installer/setup.sh run      build, start the sandbox and open the GUI on it
#                               (no display: run the headless demo instead, and say so)
#   installer/setup.sh test     build and run the whole test suite through CTest
#   installer/setup.sh package  build and make the .deb in build/
#   installer/setup.sh build    just install and build
#   installer/setup.sh fuzz [SECONDS] [TARGET...]
#                               fuzz every parser of untrusted input for SECONDS each
#                               (tests/fuzz/run.sh, build-fuzz/); only this job needs clang
#
# HTAP_PRESET=asan selects the address+undefined sanitizer build (build-asan/), HTAP_PRESET=tsan
# the thread sanitizer build (build-tsan/), whose test job runs the tests of our threads only.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
job="${1:-run}"
shift || true
preset="${HTAP_PRESET:-default}"

packages=(
    build-essential cmake ninja-build pkg-config file dpkg-dev
    qt6-base-dev libqt6sql6-sqlite libqt6svg6 libqcustomplot-dev libgl-dev
    libpq-dev postgresql-15 postgresql-contrib postgresql-15-cron postgresql-15-prioritize libpg-query-dev libprotobuf-c-dev
    qtkeychain-qt6-dev libsecret-1-0 gnome-keyring dbus-daemon
    postgresql-15-pg-wait-sampling postgresql-15-pg-stat-kcache postgresql-15-hypopg postgresql-15-partman
    postgresql-server-dev-15 # builds the htap_capture server extension (capture mode c, src/pgext)
    xvfb xauth fonts-dejavu-core desktop-file-utils appstream chromium poppler-utils
    prometheus # for promtool, which checks htapctl monitor --listen's output (tst_prometheus)
)
# The fuzz job's own: clang with libFuzzer and the sanitizer runtimes.
fuzz_packages=(clang libclang-rt-14-dev)

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

install_packages() {
    local missing=()
    local server
    server="$(dpkg-query -W -f='${Version}' postgresql-15 2>/dev/null || true)"
    for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" && continue
        # The server's headers at the version of the server that is there: a newer one would
        # pull the server up under running clusters (and its build must match it anyway).
        if [ "$p" = postgresql-server-dev-15 ] && [ -n "$server" ]; then
            missing+=("$p=$server")
        else
            missing+=("$p")
        fi
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
        sudo=(sudo)
    fi
    say "Installing missing Debian packages: ${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    # The machine may run PostgreSQL clusters: --no-upgrade never upgrades a package named
    # here that is installed, and the extension packages need postgresql-15 as it is (checked
    # with apt-get -s on Debian 12: 2 newly installed, nothing upgraded).
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends --no-upgrade "${missing[@]}"
}

build() {
    local dir=build
    [ "$preset" = default ] || dir="build-$preset"
    if [ ! -f "$dir/CMakeCache.txt" ]; then
        say "Configuring ($preset)"
        cmake --preset "$preset" >/dev/null
    fi
    say "Building ($preset)"
    cmake --build --preset "$preset" -j "$(nproc)"
    bindir="$root/$dir/bin"
    install_server_extension "$dir"
}

# The htap_capture extension (src/pgext) goes into the server's own folders, where the sandbox
# loads it from: only when what is there differs.
install_server_extension() {
    local out="$root/$1/pgext/htap_capture" pgconfig
    [ -f "$out/htap_capture.so" ] || return 0
    pgconfig="$(ls -d /usr/lib/postgresql/*/bin/pg_config | sort -V | tail -n 1)"
    local lib ext
    lib="$("$pgconfig" --pkglibdir)" ext="$("$pgconfig" --sharedir)/extension"
    if cmp -s "$out/htap_capture.so" "$lib/htap_capture.so" \
        && cmp -s src/pgext/htap_capture/htap_capture--1.0.sql "$ext/htap_capture--1.0.sql" \
        && cmp -s src/pgext/htap_capture/htap_capture.control "$ext/htap_capture.control"; then
        return 0
    fi
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    say "Installing the htap_capture server extension into $lib"
    "${sudo[@]}" make -s -C "$out" -f "$root/src/pgext/htap_capture/Makefile" VPATH="$root/src/pgext/htap_capture" \
        with_llvm=no PG_CONFIG="$pgconfig" install >/dev/null
}

# The htap_capture extension as a .deb of its own, for the database server (the app's package
# is for the DBA's workstation): htap-studio-capture-pg<major>, built against that major.
package_server_extension() {
    local out="$1/pgext/htap_capture" pgconfig major version stage deb
    [ -f "$out/htap_capture.so" ] || { say "No server headers: the htap_capture package is not built"; return 0; }
    pgconfig="$(ls -d /usr/lib/postgresql/*/bin/pg_config | sort -V | tail -n 1)"
    major="$("$pgconfig" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')"
    version="$(sed -nE 's/^ *VERSION ([0-9.]+)$/\1/p' CMakeLists.txt | head -n 1)"
    stage="$1/pgext/deb"
    rm -rf "$stage"
    make -s -C "$out" -f "$root/src/pgext/htap_capture/Makefile" VPATH="$root/src/pgext/htap_capture" with_llvm=no \
        PG_CONFIG="$pgconfig" DESTDIR="$stage" install > /dev/null
    strip --strip-unneeded "$stage$("$pgconfig" --pkglibdir)/htap_capture.so"
    mkdir -p "$stage/DEBIAN"
    cat > "$stage/DEBIAN/control" <<CONTROL
Package: htap-studio-capture-pg$major
Version: $version
Architecture: $(dpkg --print-architecture)
Maintainer: HTAP Studio developers <dev@htapstudio.org>
Depends: postgresql-$major
Section: database
Priority: optional
Homepage: https://htapstudio.org
Description: HTAP Studio's row capture in C for PostgreSQL $major
 The htap_capture extension: HTAP Studio's incremental materialized views capture
 changed rows with it (capture mode c) at less cost to the writers than with
 PL/pgSQL statement triggers. Install it on the database server, then switch a
 view with htapctl mv capture VIEW --mode c (CREATE EXTENSION needs a superuser).
CONTROL
    deb="$1/htap-studio-capture-pg${major}_${version}_$(dpkg --print-architecture).deb"
    dpkg-deb --root-owner-group --build "$stage" "$deb" > /dev/null
    say "Built $deb"
}

case "$job" in
run)
    install_packages
    build
    if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
        say "Starting the sandbox"
        "$bindir/htapctl" sandbox start "$@" >/dev/null
        say "Opening HTAP Studio on the sandbox"
        exec "$bindir/htap-studio" --sandbox
    fi
    say "No display (DISPLAY and WAYLAND_DISPLAY are unset): running the headless demo instead of the GUI"
    exec "$bindir/htapctl" demo "$@"
    ;;
test)
    install_packages
    build
    say "Running the test suite"
    exec ctest --preset "$preset" "$@"
    ;;
package)
    install_packages
    build
    say "Packaging"
    (cd "${bindir%/bin}" && cpack -G DEB)
    package_server_extension "${bindir%/bin}"
    ;;
build)
    install_packages
    build
    ;;
fuzz)
    packages+=("${fuzz_packages[@]}")
    install_packages
    exec tests/fuzz/run.sh "$@"
    ;;
*)
    echo "usage: installer/setup.sh run|test|package|build|fuzz [options]" >&2
    exit 2
    ;;
esac
