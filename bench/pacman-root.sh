#!/bin/bash
# The pacman side of the bench's pacman comparison (bench/pacman.ts): what a
# rootless Arch builder does, run as root of a user namespace that maps the
# user's subordinate ids (unshare --map-auto --map-root-user --mount --fork).
#
#   pacman-root.sh ROOT CONFIG ARCH CACHEDIR KEYRING PACKAGE...
#
# 1. pacman installs PACKAGE... into ROOT (database sync from CONFIG's servers,
#    packages from CACHEDIR, signatures checked against CONFIG's GPGDir,
#    .INSTALL scriptlets and ALPM hooks run in ROOT).
# 2. The image's own keyring, ROOT/etc/pacman.d/gnupg, as
#    `pacman-key --init` and `pacman-key --populate KEYRING` leave it. Debian's
#    pacman-key populates from /usr/share/keyrings only, so the populate steps
#    are done here, in its order and with its gpg arguments, on the files in
#    ROOT/usr/share/pacman/keyrings: import KEYRING.gpg, locally sign the keys
#    in KEYRING-trusted and import their owner trust, disable the keys in
#    KEYRING-revoked, update the trust database.
#
# Prints "bench-phase NAME MICROSECONDS" after each part, for the report.
set -euo pipefail
root=$1 config=$2 arch=$3 cachedir=$4 keyring=$5
shift 5

mark=${EPOCHREALTIME/[.,]/}
phase() {
	local now=${EPOCHREALTIME/[.,]/}
	echo "bench-phase $1 $((now - mark))"
	mark=$now
}

mkdir -p -m 0755 "$root/var/lib/pacman"
pacman --root "$root" --config "$config" --cachedir "$cachedir" --arch "$arch" --noconfirm -Sy "$@"
phase 'pacman -Sy'

gnupg=$root/etc/pacman.d/gnupg
keys=$root/usr/share/pacman/keyrings
gpg=(gpg --homedir "$gnupg" --no-permission-warning)
pacman-key --config "$config" --gpgdir "$gnupg" --init
phase 'pacman-key --init'

# pacman-key --populate's steps, in its order, with its gpg arguments.
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
# pacman-key --init started a gpg-agent for the new keyring: stop it, as a build must.
gpgconf --homedir "$gnupg" --kill all
phase 'populate'
