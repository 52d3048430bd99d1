/** Every example's configuration loads without a problem: the README points users at them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/index.ts';

const examples = fileURLToPath(new URL('../../examples', import.meta.url));

for (const name of readdirSync(examples).sort()) {
  test(`examples/${name} loads`, () => {
    const loaded = loadConfig({ dir: join(examples, name), env: {} });
    assert.ok(loaded.config['output.format'].length > 0);
  });
}
