import { Command } from '@commander-js/extra-typings';
import { writeFileSync } from 'node:fs';
import { ASPECTS, diffImages, formatHtmlReport, formatTextReport, reportJson, type Aspect } from '../diff/index.ts';
import { UserError } from '../util/errors.ts';

/** `kiln diff A B`: exit 0 when identical, 1 when they differ, 2 for a user mistake. */
export function diffCommand() {
  return new Command('diff')
    .description('compare two images or trees (directories, tars, cpio archives, OCI layouts, ext4 images, disk images by partition), explained by package')
    .argument('<a>', 'the first output or tree')
    .argument('<b>', 'the second output or tree')
    .option('--json', 'print the report as JSON')
    .option('--html <file>', 'also write the report as an HTML page to FILE')
    .option('--ignore <aspects>', `aspects not to compare, comma-separated (${ASPECTS.join(', ')})`)
    .action(async (a, b, opts) => {
      const ignore = new Set<Aspect>();
      for (const name of (opts.ignore ?? '').split(',').filter(Boolean)) {
        if (!(ASPECTS as readonly string[]).includes(name)) throw new UserError(`--ignore: unknown aspect ${JSON.stringify(name)}`, `the aspects are: ${ASPECTS.join(', ')}`);
        ignore.add(name as Aspect);
      }
      const report = await diffImages(a, b, { ignore, warn: (m) => process.stderr.write(`kiln: warning: ${m}\n`) });
      if (opts.html) writeFileSync(opts.html, formatHtmlReport(report));
      process.stdout.write(opts.json ? JSON.stringify(reportJson(report), null, 2) + '\n' : formatTextReport(report));
      process.exitCode = report.identical ? 0 : 1;
    });
}
