/**
 * Rockchip boards: the SoC's boot ROM reads the first stage (TPL and SPL,
 * idbloader.img) from sector 64 of the SD card or eMMC, SPL reads U-Boot
 * proper with the ARM trusted firmware (u-boot.itb) from sector 16384, and
 * U-Boot's distro boot reads extlinux/extlinux.conf from the first bootable
 * partition, as on aarch64-uboot. The blobs come from the distribution's
 * U-Boot package, installed in the image (Debian: u-boot-rockchip, whose
 * u-boot-install-rockchip and README.rockchip give these sectors), and are
 * copied from the tree when the disk is written. Rockchip's partition map
 * keeps sectors 64..7167 (loader1), 16384..24575 (loader2) and
 * 24576..32767 (trust) for the boot chain: the first partition starts at
 * sector 32768 (16 MiB). The kernel's device tree is on the disk (FDT).
 */
import { ubootBlobsLayout } from './layouts.ts';
import { board, type BoardUboot } from './types.ts';

const rockchipUboot = (target: string): BoardUboot => ({
  from: { debian: { package: 'u-boot-rockchip', directory: `/usr/lib/u-boot/${target}` } },
  blobs: [
    { file: 'idbloader.img', sector: 64, sectors: 7168 - 64 },
    { file: 'u-boot.itb', sector: 16384, sectors: 24576 - 16384 },
  ],
  firstPartitionSector: 32768,
});

export const rock64Rk3328 = board({
  name: 'rock64-rk3328',
  pretty: 'Pine64 ROCK64 (Rockchip RK3328), U-Boot on the disk (distro boot, extlinux)',
  architecture: 'aarch64',
  layout: ubootBlobsLayout('16M'),
  firmware: 'uboot',
  console: 'ttyS2',
  consoleBaud: 1_500_000,
  uboot: rockchipUboot('rock64-rk3328'),
  deviceTree: 'rockchip/rk3328-rock64.dtb',
});
