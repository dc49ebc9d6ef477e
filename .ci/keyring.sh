# Sourced by .ci/run under CI (and by hand: `source .ci/keyring.sh`): starts
# a real Secret Service, gnome-keyring on a private D-Bus session bus, for
# the keychain:// tests, and exports KEYLEASE_KEYRING_TEST=1 and the bus
# address so that they run instead of skipping. Installs gnome-keyring and
# dbus-x11 with apt-get (Debian/Ubuntu, as root or through sudo) when
# missing. Every step returns 1 with a message on failure.
keyring_sudo=""
[ "$(id -u)" = 0 ] || keyring_sudo=sudo
if ! command -v gnome-keyring-daemon >/dev/null || ! command -v dbus-launch >/dev/null; then
	{ $keyring_sudo apt-get update -qq &&
		$keyring_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gnome-keyring dbus-x11 >/dev/null; } ||
		{ echo "keyring: could not install gnome-keyring and dbus-x11 with apt-get" >&2; return 1; }
fi
keyring_env=$(dbus-launch --sh-syntax) || { echo "keyring: dbus-launch could not start a session bus" >&2; return 1; }
eval "$keyring_env"
export DBUS_SESSION_BUS_ADDRESS DBUS_SESSION_BUS_PID
# A new login keyring in a directory of its own (an existing one would want
# its own password), unlocked with a throwaway password read from stdin; the
# tests write their items there and delete them again.
keyring_dir=$(mktemp -d) || return 1
export XDG_DATA_HOME="$keyring_dir"
printf 'keylease-ci-throwaway' | gnome-keyring-daemon --unlock --components=secrets >/dev/null ||
	{ echo "keyring: gnome-keyring-daemon did not start on the session bus" >&2; return 1; }
export KEYLEASE_KEYRING_TEST=1
unset keyring_sudo keyring_env keyring_dir
