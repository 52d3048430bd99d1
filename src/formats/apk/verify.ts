/**
 * After the download, before anything is unpacked: every package checked
 * as apk checks it (its control stream is the one the signed index lists,
 * signed by a trusted key, its data matches the datahash), each refusal one
 * line naming the file.
 */
import type { VerifyContext } from '../types.ts';
import { readApkPackage } from './package.ts';
import type { ApkInstallPlan } from './plan.ts';
import { keysFor } from './install.ts';

export async function verifyApk(ctx: VerifyContext<ApkInstallPlan>): Promise<void> {
  const keys = keysFor(ctx.plan);
  for (const p of ctx.plan.packages) {
    await readApkPackage(await ctx.readPackage(p), p, p.urls[0] ?? p.name, { keys: keys(p), checksum: p.extra.checksum });
  }
}
