#!/bin/bash
# Runs a test in a D-Bus session of its own with a GNOME Keyring of its own, unlocked with a
# throwaway password, in a scratch HOME: the desktop a user's keyring lives in, without touching the
# keyring of whoever runs the tests. Usage: keyring-session.sh TEST [ARGS...]
set -euo pipefail
for tool in dbus-run-session gnome-keyring-daemon; do
    command -v "$tool" >/dev/null || { echo "keyring-session: $tool is missing (installer/setup.sh installs it)" >&2; exit 1; }
done
home="$(mktemp -d /tmp/htap-keyring.XXXXXX)"
trap 'rm -rf "$home"' EXIT
export HOME="$home" XDG_DATA_HOME="$home/data" XDG_CONFIG_HOME="$home/config" XDG_CACHE_HOME="$home/cache"
export XDG_RUNTIME_DIR="$home/run"
mkdir -p -m 0700 "$XDG_RUNTIME_DIR"
export HTAP_TEST_KEYRING_HOME="$home" # where the test looks for a password written to disk
# The keyring daemon leaves when the session's bus does, at the end of dbus-run-session.
dbus-run-session -- bash -c 'set -e; env=$(printf "keyring-session" | gnome-keyring-daemon --unlock --components=secrets); [ -z "$env" ] || export $env; exec "$@"' \
    keyring-session "$@"
