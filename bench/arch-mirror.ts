/**
 * Serves the fixture's pacman repositories on 127.0.0.1, in a process of its
 * own so that answering never waits for the bench's memory sampling.
 *
 *   node --import tsx bench/arch-mirror.ts NAME=DIR...
 *
 * Prints one JSON line {"ready": {NAME: URL, ...}}; then answers each line
 * read on stdin with {"requests": [{mirror, path, status}, ...]}: the requests
 * served since the previous answer. Stops when stdin closes.
 */
import { createInterface } from 'node:readline';
import { startMirror, type Mirror } from '../test/helpers/mirror-server.ts';

const mirrors: [string, Mirror][] = [];
for (const arg of process.argv.slice(2)) {
  const [name, dir] = arg.split('=', 2);
  if (!name || !dir) throw new Error(`expected NAME=DIR, got ${arg}`);
  mirrors.push([name, await startMirror(dir)]);
}
const said = new Map<string, number>(mirrors.map(([name]) => [name, 0]));
process.stdout.write(JSON.stringify({ ready: Object.fromEntries(mirrors.map(([name, m]) => [name, m.url])) }) + '\n');

const lines = createInterface({ input: process.stdin });
lines.on('line', () => {
  const requests = mirrors.flatMap(([name, m]) => {
    const fresh = m.log.slice(said.get(name));
    said.set(name, m.log.length);
    return fresh.map((r) => ({ mirror: name, path: r.path, status: r.status }));
  });
  process.stdout.write(JSON.stringify({ requests }) + '\n');
});
lines.on('close', () => {
  void Promise.all(mirrors.map(([, m]) => m.close())).then(() => process.exit(0));
});
