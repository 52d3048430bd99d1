/**
 * What kiln outside src/formats knows about each package format, in one
 * exhaustive table: the configuration's rules (releases, mirrors, the
 * settings only one format reads, the default keyring), the SBOM's names,
 * where a foreign build may take its emulator from, and what each board
 * installs. Every fact is required, so a new format (or a new board) does
 * not compile until all of them are given; code elsewhere reads a fact here
 * instead of asking which format it has.
 *
 * A leaf: nothing but types is imported, so that config and catalog can read
 * it without pulling the formats' code in.
 */
import type { BoardName } from '../catalog/boards/index.ts';
import type { FormatName } from '../catalog/types.ts';
import type { SettingKey } from '../config/settings.ts';

export interface FormatFacts {
  /**
   * How its distributions name releases: `named` suites (bookworm, noble), or
   * `rolling`: one release, the distribution's defaultRelease, which a user may
   * leave unset or restate but never change.
   */
  releases: 'named' | 'rolling';
  /**
   * distribution.mirror: an archive `url`, or a `pattern` with $repo and $arch
   * as pacman's Server lines (a user's mirror is checked as one; a distribution
   * without a default mirror asks for one).
   */
  mirror: 'url' | 'pattern';
  /** Settings only this format reads: a user who sets one for another format's distribution is told so. */
  ownSettings: readonly SettingKey[];
  /** Its distributions, as that message names them ("only for ..."). */
  family: string;
  /**
   * distribution.keyring's default, from the distribution's host keyrings:
   * `every` one of them, or the `first-present` on this host (none when the host
   * has none: distribution.keyring-bootstrap decides then).
   */
  defaultKeyring: 'every' | 'first-present';
  /** The package URL type (purl-spec) of its packages, in the SBOM. */
  purlType: string;
  /** What it calls the package a binary package was built from, in the SBOM ("built from the ..."). */
  sourceKind: string;
  /**
   * Its archives are Debian archives, which carry qemu-user-static: a foreign
   * build on a host with neither QEMU nor apt sources may take the emulator
   * from the target's own archive.
   */
  emulatorFromArchive: boolean;
  /** The packages each board adds (kernel, firmware), in this format's package names. */
  boardPackages: Readonly<Record<BoardName, readonly string[]>>;
  /**
   * Where a Raspberry Pi's FAT firmware partition is mounted (the board
   * layouts' contents): the directory this format's firmware packages write
   * config.txt, the kernel and the device trees into.
   */
  raspberryPiFirmwareDirectory: string;
}

export const FORMAT_FACTS: Readonly<Record<FormatName, FormatFacts>> = {
  deb: {
    releases: 'named',
    mirror: 'url',
    ownSettings: [],
    family: 'Debian-format distributions (Debian, Ubuntu)',
    defaultKeyring: 'every',
    purlType: 'deb',
    sourceKind: 'source package',
    emulatorFromArchive: true,
    boardPackages: {
      // systemd-boot-efi has the EFI binary only (systemd-boot's postinst would run bootctl against the host's ESP).
      'x86_64-uefi': ['linux-image-amd64', 'systemd-sysv', 'udev', 'systemd-boot-efi'],
      // grub-pc-bin has the modules and images only (grub-pc's postinst would run grub-install against a real disk).
      'x86_64-bios': ['linux-image-amd64', 'systemd-sysv', 'udev', 'grub-pc-bin'],
      'generic-x86_64': ['linux-image-amd64'],
      'generic-aarch64': ['linux-image-arm64'],
      'aarch64-uefi': ['linux-image-arm64', 'systemd-sysv', 'udev', 'systemd-boot-efi'],
      'aarch64-uboot': ['linux-image-arm64', 'systemd-sysv', 'udev'],
      'riscv64-uboot': ['linux-image-riscv64', 'systemd-sysv', 'udev'],
      // An init too: Debian's minimal base has none (the board would stop at "No working init found").
      'raspberrypi-4': ['linux-image-arm64', 'systemd-sysv', 'udev', 'raspi-firmware'],
      'raspberrypi-2': ['linux-image-armmp', 'systemd-sysv', 'udev', 'raspi-firmware'],
      // And u-boot-rockchip, the board's uboot package (src/catalog/boards/rockchip.ts).
      'rock64-rk3328': ['linux-image-arm64', 'systemd-sysv', 'udev'],
    },
    // Debian's raspi-firmware (and Raspberry Pi OS) keep /boot for the kernel packages and copy the firmware to /boot/firmware.
    raspberryPiFirmwareDirectory: '/boot/firmware',
  },
  pacman: {
    releases: 'rolling',
    mirror: 'pattern',
    ownSettings: ['distribution.repository-mirrors', 'distribution.extra-repositories', 'distribution.keyring-bootstrap'],
    family: 'pacman distributions (the Arch family)',
    defaultKeyring: 'first-present',
    purlType: 'alpm',
    sourceKind: 'package base',
    emulatorFromArchive: false,
    boardPackages: {
      'x86_64-uefi': ['linux', 'mkinitcpio', 'systemd'],
      'x86_64-bios': ['linux', 'mkinitcpio', 'systemd', 'grub'],
      'generic-x86_64': ['linux'],
      'generic-aarch64': ['linux-aarch64'],
      'aarch64-uefi': ['linux-aarch64', 'mkinitcpio', 'systemd'],
      'aarch64-uboot': ['linux-aarch64', 'mkinitcpio'],
      'riscv64-uboot': ['linux', 'mkinitcpio'],
      'raspberrypi-4': ['linux-rpi', 'raspberrypi-bootloader'],
      'raspberrypi-2': ['linux-rpi', 'raspberrypi-bootloader'],
      // Refused before this is read: kiln knows the board's U-Boot package in Debian only (the board's uboot).
      'rock64-rk3328': ['linux-aarch64', 'mkinitcpio'],
    },
    // Arch Linux ARM's linux-rpi and raspberrypi-bootloader install into /boot, which is the FAT partition itself.
    raspberryPiFirmwareDirectory: '/boot',
  },
  apk: {
    // edge or vX.Y: checked by the distribution's releaseProblem, a path component of the mirror.
    releases: 'named',
    // The mirror's base URL, below which are $release/$repo/$arch (or a whole pattern with those placeholders).
    mirror: 'url',
    ownSettings: ['distribution.repository-mirrors', 'distribution.extra-repositories', 'distribution.keyring-bootstrap'],
    family: 'Alpine Linux',
    defaultKeyring: 'first-present',
    purlType: 'apk',
    sourceKind: 'origin package',
    emulatorFromArchive: false,
    boardPackages: {
      'x86_64-uefi': ['linux-lts', 'systemd-boot'],
      // GRUB's i386-pc modules and boot.img/core.img pieces (Alpine's grub-bios), as grub-pc-bin brings them on Debian.
      'x86_64-bios': ['linux-lts', 'grub-bios'],
      'generic-x86_64': ['linux-lts'],
      'generic-aarch64': ['linux-lts'],
      'aarch64-uefi': ['linux-lts', 'systemd-boot'],
      'aarch64-uboot': ['linux-lts'],
      'riscv64-uboot': ['linux-lts'],
      'raspberrypi-4': ['linux-rpi', 'raspberrypi-bootloader'],
      'raspberrypi-2': ['linux-rpi', 'raspberrypi-bootloader'],
      // Refused as on pacman: no U-Boot package kiln knows for the board.
      'rock64-rk3328': ['linux-lts'],
    },
    // Alpine's Raspberry Pi images keep the firmware, config.txt and the kernel on the FAT partition mounted at /boot.
    raspberryPiFirmwareDirectory: '/boot',
  },
};

/** The facts of the formats that own a setting (ownSettings); none for a setting every format reads. */
export function settingOwners(key: SettingKey): FormatFacts[] {
  return Object.values(FORMAT_FACTS).filter((f) => f.ownSettings.includes(key));
}
