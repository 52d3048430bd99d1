#!/bin/bash
# The pacman side of the bench's pacman comparison (bench/pacman.ts): what a
# rootless Arch builder such as aimager does, run as root of a user namespace
# that maps the user's subordinate ids (unshare --map-auto --map-root-user
# --mount --fork).
#
#   pacman-root.sh keyring GNUPG KEYRINGS KEYRING CONFIG
#   pacman-root.sh install ROOT CONFIG ARCH CACHEDIR GNUPG PACKAGE...
#
# keyring (once, untimed): the populated keyring GNUPG, as `pacman-key
#    --init` and `pacman-key --populate KEYRING` leave it, from the keyring
#    package's files in KEYRINGS (its usr/share/pacman/keyrings). Debian's
#    pacman-key populates from /usr/share/keyrings only, so the populate steps
#    are done here, in its order and with its gpg arguments: import
#    KEYRING.gpg, locally sign the keys in KEYRING-trusted and import their
#    owner trust, disable the keys in KEYRING-revoked, update the trust
#    database. This is the builder's keyring cache: key generation (an RSA
#    4096 master key) is not repeated for every image.
# install (timed): pacman installs PACKAGE... into ROOT (database sync from
#    CONFIG's servers, packages from CACHEDIR, signatures checked against
#    CONFIG's GPGDir, .INSTALL scriptlets and ALPM hooks run in ROOT), then the
#    cached keyring GNUPG is copied to ROOT/etc/pacman.d/gnupg.
#
# install prints "bench-phase NAME MICROSECONDS" after each part, for the report.
set -euo pipefail
mode=$1
shift

mark=${EPOCHREALTIME/[.,]/}
phase() {
	local now=${EPOCHREALTIME/[.,]/}
	echo "bench-phase $1 $((now - mark))"
	mark=$now
}

make_keyring() {
	local gnupg=$1 keys=$2 keyring=$3 config=$4
	local gpg=(gpg --homedir "$gnupg" --no-permission-warning)
	pacman-key --config "$config" --gpgdir "$gnupg" --init
	"${gpg[@]}" --quiet --import "$keys/$keyring.gpg"
	if [[ -s $keys/$keyring-trusted ]]; then
		while IFS=: read -r key _; do
			[[ -z $key || $key == \#* ]] && continue
			printf 'y\ny\n' | LANG=C "${gpg[@]}" --command-fd 0 --quiet --batch --lsign-key "$key" 2>/dev/null
		done <"$keys/$keyring-trusted"
		"${gpg[@]}" --import-ownertrust "$keys/$keyring-trusted"
	fi
	if [[ -s $keys/$keyring-revoked ]]; then
		while read -r key; do
			[[ -n $key ]] && printf 'disable\nquit\n' | LANG=C "${gpg[@]}" --command-fd 0 --no-auto-check-trustdb --quiet --batch --edit-key "$key" 2>/dev/null
		done <"$keys/$keyring-revoked"
	fi
	pacman-key --config "$config" --gpgdir "$gnupg" --updatedb
	# pacman-key --init started a gpg-agent for the new keyring: stop it, and keep no sockets in the cache.
	gpgconf --homedir "$gnupg" --kill all
	rm -f "$gnupg"/S.*
}

install_root() {
	local root=$1 config=$2 arch=$3 cachedir=$4 gnupg=$5
	shift 5
	mkdir -p -m 0755 "$root/var/lib/pacman"
	pacman --root "$root" --config "$config" --cachedir "$cachedir" --arch "$arch" --noconfirm -Sy "$@"
	phase 'pacman -Sy'
	mkdir -p -m 0755 "$root/etc/pacman.d"
	cp -a "$gnupg" "$root/etc/pacman.d/gnupg"
	phase 'keyring (cached copy)'
}

case $mode in
keyring) make_keyring "$@" ;;
install) install_root "$@" ;;
*)
	echo "pacman-root.sh: unknown mode $mode (keyring, install)" >&2
	exit 2
	;;
esac
