import { Command } from '@commander-js/extra-typings';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Manifest } from '../outputs/index.ts';
import { UserError } from '../util/errors.ts';
import { formatBytes } from './reporter.ts';
import { largestFiles, type LargeFile } from './inspect-files.ts';

/** `kiln inspect OUTPUT`: a summary from the output's manifest, with the largest packages. */
export function inspectCommand() {
  return new Command('inspect')
    .description('summarise an output from its manifest: image, packages, largest packages, outputs')
    .argument('<output>', 'an output (image.tar, image/), or its NAME.manifest.json')
    .option('--top <n>', 'how many of the largest packages and files to list', '10')
    .option('--json', 'print the manifest itself')
    .action(async (output, opts) => {
      const file = findManifest(output);
      const manifest = JSON.parse(readFileSync(file, 'utf8')) as Manifest;
      if (opts.json) {
        process.stdout.write(JSON.stringify(manifest, null, 2) + '\n');
        return;
      }
      const top = Number(opts.top);
      if (!Number.isInteger(top) || top < 1) throw new UserError(`--top ${opts.top}: expected a whole number of at least 1`);
      process.stdout.write(formatSummary(manifest, top));
      const tree = output.endsWith('.manifest.json') ? undefined : await largestFiles(output.replace(/\/+$/, ''), top);
      if (tree) process.stdout.write(formatFiles(tree.files, tree.unreadable));
    });
}

function findManifest(output: string): string {
  if (output.endsWith('.manifest.json') && existsSync(output)) return output;
  const dir = dirname(output.replace(/\/+$/, ''));
  let name = basename(output.replace(/\/+$/, ''));
  if (!(existsSync(output) && statSync(output).isDirectory())) name = name.replace(/\.(tar(\.(gz|xz|zst))?)$/, '');
  const file = join(dir, `${name}.manifest.json`);
  if (!existsSync(file)) throw new UserError(`no manifest for ${output} (looked for ${file})`, 'give an output kiln wrote, or its NAME.manifest.json');
  return file;
}

export function formatSummary(m: Manifest, top: number): string {
  const installed = m.packages.reduce((a, p) => a + (p.installedSize ?? 0), 0);
  const lines = [
    `image:     ${m.image.name}: ${m.image.distribution} ${m.image.release} ${m.image.architecture}${m.image.board ? `, board ${m.image.board}` : ''}${m.image.profiles.length ? `, profiles ${m.image.profiles.join(', ')}` : ''}`,
    `built:     ${m.built} by kiln ${m.kiln.version}; SOURCE_DATE_EPOCH ${m.sourceDateEpoch}; key ${m.key.slice(0, 12)}`,
    `packages:  ${m.packages.length}, ${formatBytes(installed)} installed`,
    'outputs:',
    ...m.outputs.map((o) => `  ${o.file.padEnd(28)} ${o.size === null ? 'directory'.padStart(10) : formatBytes(o.size).padStart(10)}${o.sha256 ? `  sha256 ${o.sha256}` : ''}`),
    `  ${m.sbom.padEnd(28)} SPDX 2.3 SBOM`,
    `largest packages:`,
  ];
  const largest = [...m.packages].sort((a, b) => (b.installedSize ?? 0) - (a.installedSize ?? 0)).slice(0, top);
  const width = Math.max(...largest.map((p) => p.name.length), 4);
  for (const p of largest) {
    const share = installed ? ` ${((100 * (p.installedSize ?? 0)) / installed).toFixed(1).padStart(5)}%` : '';
    lines.push(`  ${p.name.padEnd(width)} ${formatBytes(p.installedSize ?? 0).padStart(10)}${share}  ${p.version}${p.licenses.length ? `  (${p.licenses.slice(0, 3).join(', ')}${p.licenses.length > 3 ? ', ...' : ''})` : ''}`);
  }
  return lines.join('\n') + '\n';
}

export function formatFiles(files: LargeFile[], unreadable: number): string {
  const lines = ['largest files:', ...files.map((f) => `  ${formatBytes(f.size).padStart(10)}  ${f.path}`)];
  if (unreadable) lines.push(`  (${unreadable} directories you cannot read were left out: inspect a tar output for all of them)`);
  return lines.join('\n') + '\n';
}
