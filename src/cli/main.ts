/**
 * The entry point (bundled as dist/kiln.mjs): runs kiln's command line on
 * process.argv and exits with its code. Nothing imports this file; the
 * verbs' shared options live in image-options.ts, the CLI in program.ts.
 */
import { reportError, runCli } from './program.ts';

const debug = process.argv.includes('--debug');

// The event loop ran dry before the command finished: a bug (an awaited promise nothing will settle). Never exit 0 for it.
process.once('beforeExit', () => process.exit(reportError(new Error('kiln stopped with work still pending (nothing left to wait for)'), debug)));

runCli(process.argv).then(
  (code) => process.exit(code),
  (err) => process.exit(reportError(err, debug)),
);
