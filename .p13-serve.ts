import { cpSync, execFileSync } from 'node:fs';
import { makeApkRepos } from './test/helpers/apk-fixture.ts';
import { serveFixture } from './bench/pacman-fixture.ts';
const apk = await makeApkRepos('/tmp/p13/fixture', { architectures: ['x86_64', 'aarch64'], realistic: true });
cpSync(apk.keysDir, '/tmp/p13/keys', { recursive: true });
const served = await serveFixture({ apk: apk.root });
console.log('URL', served.urls.apk);
setInterval(() => {}, 1e9);
