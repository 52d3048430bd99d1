import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  compareCodePoints,
  describeHookRun,
  HOOK_PHASE_TITLES,
  loadHooks,
  matchHooks,
  parseHook,
  splitExec,
  type AlpmHook,
  type HookFile,
  type HookTransaction,
} from '../../src/formats/pacman/hooks.ts';
import { fnmatchRegExp as compileGlob } from '../../src/util/fnmatch.ts';
import { BuildError } from '../../src/util/errors.ts';

const USR = '/usr/share/libalpm/hooks';
const ETC = '/etc/pacman.d/hooks';

function hookText(...lines: string[]): string {
  return lines.join('\n') + '\n';
}

function parsed(text: string, file = `${USR}/test.hook`): AlpmHook {
  const result = parseHook(text, file);
  assert.ok('hook' in result, `expected a hook, got ${JSON.stringify(result)}`);
  return result.hook;
}

function refused(text: string, file = `${USR}/test.hook`): { errors: string[]; warnings: string[] } {
  const result = parseHook(text, file);
  assert.ok('errors' in result, `expected errors, got ${JSON.stringify(result)}`);
  return result;
}

/** A minimal valid hook whose Exec names it, for load and match tests. */
function simple(tag: string, extra: { when?: string; type?: string; targets?: string[]; lines?: string[] } = {}): string {
  return hookText(
    '[Trigger]',
    `Type = ${extra.type ?? 'Package'}`,
    'Operation = Install',
    ...(extra.targets ?? ['*']).map((target) => `Target = ${target}`),
    '[Action]',
    `When = ${extra.when ?? 'PostTransaction'}`,
    `Exec = /usr/bin/${tag}`,
    ...(extra.lines ?? []),
  );
}

const KERNEL_HOOK = hookText(
  '# Rebuild the initramfs when a kernel or what goes into it changes.',
  '',
  '[Trigger]',
  'Type = Path',
  'Operation = Install',
  'Operation = Upgrade',
  'Target = usr/lib/modules/*/vmlinuz',
  'Target = usr/lib/initcpio/*',
  '',
  '[Trigger]',
  'Type = Package',
  'Operation = Install',
  'Operation = Upgrade',
  'Target = kiln-initramfs',
  '',
  '[Action]',
  'Description = Building initramfs images...',
  'When = PostTransaction',
  'Exec = /usr/share/libalpm/scripts/kiln-initramfs install',
  'NeedsTargets',
);

test('parses a hook with Path and Package triggers', () => {
  const hook = parsed(KERNEL_HOOK, `${USR}/90-kiln-initramfs.hook`);
  assert.deepEqual(hook, {
    name: '90-kiln-initramfs.hook',
    file: `${USR}/90-kiln-initramfs.hook`,
    description: 'Building initramfs images...',
    when: 'PostTransaction',
    argv: ['/usr/share/libalpm/scripts/kiln-initramfs', 'install'],
    triggers: [
      { type: 'Path', operations: ['Install', 'Upgrade'], targets: ['usr/lib/modules/*/vmlinuz', 'usr/lib/initcpio/*'] },
      { type: 'Package', operations: ['Install', 'Upgrade'], targets: ['kiln-initramfs'] },
    ],
    depends: [],
    abortOnFail: false,
    needsTargets: true,
  });
});

test('reads comments, blank lines, spaces and tabs around keys, CRLF, and the old Type = File', () => {
  const text = [
    '  # indented comment',
    '[Trigger]',
    '\tType=File\t',
    'Operation  =  Remove',
    'Operation = Remove',
    'Target =usr/share/info/*',
    '',
    '[Action]',
    ' When=PreTransaction ',
    'Exec = /usr/bin/install-info --delete # not a comment',
    'Depends = texinfo',
    'Depends = sh>=5',
    'AbortOnFail',
  ].join('\r\n');
  const hook = parsed(text);
  assert.deepEqual(hook.triggers, [{ type: 'Path', operations: ['Remove'], targets: ['usr/share/info/*'] }]);
  assert.equal(hook.when, 'PreTransaction');
  assert.deepEqual(hook.argv, ['/usr/bin/install-info', '--delete', '#', 'not', 'a', 'comment']);
  assert.deepEqual(hook.depends, ['texinfo', 'sh>=5']);
  assert.equal(hook.abortOnFail, true);
  assert.equal(hook.description, undefined);
});

test('flags are set by their presence, whatever their value', () => {
  const hook = parsed(simple('x', { when: 'PreTransaction', lines: ['AbortOnFail = no', 'NeedsTargets = false'] }));
  assert.equal(hook.abortOnFail, true);
  assert.equal(hook.needsTargets, true);
});

test('splits Exec as pacman does: quotes, and backslashes only before quotes', () => {
  const cases: [string, string[] | undefined][] = [
    // Checked against pacman 6.0.2 running the hook.
    [
      `/bin/sh -c 'cat > /tmp/out; printf "%s|" "$0" "$@"' "a b" c\\'d "e\\"f" 'g\\h'`,
      ['/bin/sh', '-c', 'cat > /tmp/out; printf "%s|" "$0" "$@"', 'a b', "c'd", 'e"f', 'g\\h'],
    ],
    ['  /usr/bin/true\t\t--x  ', ['/usr/bin/true', '--x']],
    ['a\\ b', ['a\\', 'b']],
    [`"a"'b'c`, ['abc']],
    [`'' ""`, ['', '']],
    [`'it\\'s'`, ["it's"]],
    [`"say \\'hi\\'"`, ["say \\'hi\\'"]],
    [`\\"unbalanced`, ['"unbalanced']],
    ['', []],
    ['"open', undefined],
    [`'it\\'`, undefined],
  ];
  for (const [command, argv] of cases) assert.deepEqual(splitExec(command), argv, command);
});

test('refuses a hook at its first bad line, with file and line, as pacman words it', () => {
  const file = `${ETC}/bad.hook`;
  const cases: [string, string][] = [
    ['Exec = /bin/true\n[Trigger]\n', `hook ${file} line 1: invalid option Exec`],
    ['[Trigger]\nOperation = Install\n[ Action ]\n', `hook ${file} line 3: invalid section  Action `],
    ['[Hook]\n', `hook ${file} line 1: invalid section Hook`],
    ['[Trigger]\nOperation = Installl\n', `hook ${file} line 2: invalid value Installl`],
    ['[Trigger]\nType = Dir\n', `hook ${file} line 2: invalid value Dir`],
    ['[Trigger]\nTarget\n', `hook ${file} line 2: invalid value (null)`],
    ['[Trigger]\noperation = Install\n', `hook ${file} line 2: invalid option operation`],
    ['[Trigger]\nAbortOnFail\n', `hook ${file} line 2: invalid option AbortOnFail`],
    ['[Action]\nWhen = Later\n', `hook ${file} line 2: invalid value Later`],
    ['[Action]\nExec = /bin/echo "open\n', `hook ${file} line 2: invalid value /bin/echo "open`],
    ['[Action]\nExec\n', `hook ${file} line 2: invalid value (null)`],
    ['[Action]\nExec =\n', `hook ${file} line 2: invalid value `],
    ['[Action]\nDepends\n', `hook ${file} line 2: invalid value (null)`],
    ['[Action]\n\n# c\nFrobnicate = 1\nBogus = 2\n', `hook ${file} line 4: invalid option Frobnicate`],
    ['[Action]\ntoString = x\n', `hook ${file} line 2: invalid option toString`],
  ];
  for (const [text, error] of cases) assert.deepEqual(refused(text, file).errors, [error], text);
});

test('reports everything missing once the file is read', () => {
  const file = `${USR}/incomplete.hook`;
  const result = refused(hookText('[Trigger]', 'Target = x', '[Trigger]', 'Type = Path', '[Action]', 'AbortOnFail'), file);
  assert.deepEqual(result.errors, [
    `Missing trigger type in hook: ${file}`,
    `Missing trigger operation in hook: ${file}`,
    `Missing trigger targets in hook: ${file}`,
    `Missing trigger operation in hook: ${file}`,
    `Missing Exec option in hook: ${file}`,
    `Missing When option in hook: ${file}`,
  ]);
});

test('warns about redefinitions and AbortOnFail after the transaction; the last definition wins', () => {
  const file = `${USR}/twice.hook`;
  const result = parseHook(
    hookText(
      '[Trigger]',
      'Type = Package',
      'Type = Path',
      'Operation = Install',
      'Target = usr/*',
      '[Action]',
      'Description = one',
      'Description = two',
      'When = PreTransaction',
      'When = PostTransaction',
      'Exec = /bin/one',
      'Exec = /bin/two 2',
      'AbortOnFail',
    ),
    file,
  );
  assert.ok('hook' in result);
  assert.deepEqual(result.warnings, [
    `hook ${file} line 3: overwriting previous definition of Type`,
    `hook ${file} line 8: overwriting previous definition of Description`,
    `hook ${file} line 10: overwriting previous definition of When`,
    `hook ${file} line 12: overwriting previous definition of Exec`,
    `AbortOnFail set for PostTransaction hook: ${file}`,
  ]);
  assert.equal(result.hook.triggers[0]!.type, 'Path');
  assert.equal(result.hook.description, 'two');
  assert.equal(result.hook.when, 'PostTransaction');
  assert.deepEqual(result.hook.argv, ['/bin/two', '2']);
});

test('a hook without triggers is valid whatever else it lacks (it masks, and never runs)', () => {
  assert.deepEqual(parsed('', 'empty.hook').triggers, []);
  const hook = parsed(hookText('# disabled', '[Action]', 'Description = nothing'));
  assert.deepEqual([hook.triggers, hook.argv, hook.when], [[], [], undefined]);
});

test('loads hooks: /etc overrides /usr/share, masks hide, refused files hide nothing, run order by stem', () => {
  const files: HookFile[] = [
    { dir: USR, name: 'foo.hook', text: simple('foo') },
    { dir: USR, name: 'foo-bar.hook', text: simple('foo-bar') },
    { dir: USR, name: 'foo_bar.hook', text: simple('foo_bar') },
    { dir: USR, name: 'Zed.hook', text: simple('Zed') },
    { dir: USR, name: 'a.hook', text: simple('usr-a') },
    { dir: `${ETC}/`, name: 'a.hook', text: simple('etc-a') },
    { dir: USR, name: 'masked.hook', text: simple('masked') },
    { dir: ETC, name: 'masked.hook', text: null },
    { dir: USR, name: 'emptied.hook', text: simple('emptied') },
    { dir: ETC, name: 'emptied.hook', text: '' },
    { dir: USR, name: 'broken.hook', text: simple('usr-broken') },
    { dir: ETC, name: 'broken.hook', text: simple('etc-broken', { lines: ['Frob = 1'] }) },
    { dir: USR, name: 'notes.txt', text: 'not a hook' },
    { dir: USR, name: 'x.hooks', text: simple('x') },
  ];
  const set = loadHooks(files);
  assert.deepEqual(
    set.hooks.map((hook) => [hook.file, hook.argv[0]]),
    [
      [`${USR}/Zed.hook`, '/usr/bin/Zed'],
      [`${ETC}/a.hook`, '/usr/bin/etc-a'],
      [`${USR}/broken.hook`, '/usr/bin/usr-broken'],
      [`${USR}/foo.hook`, '/usr/bin/foo'],
      [`${USR}/foo-bar.hook`, '/usr/bin/foo-bar'],
      [`${USR}/foo_bar.hook`, '/usr/bin/foo_bar'],
    ],
  );
  assert.deepEqual(set.errors, [`hook ${ETC}/broken.hook line 8: invalid option Frob`]);
  assert.deepEqual(set.warnings, []);
});

test('loads from the directories it is given, the first winning, and rejects files from elsewhere', () => {
  const dirs = ['/opt/hooks/', ETC, USR];
  const set = loadHooks(
    [
      { dir: USR, name: 'a.hook', text: simple('usr') },
      { dir: '/opt/hooks', name: 'a.hook', text: simple('opt') },
      { dir: ETC, name: 'a.hook', text: simple('etc') },
    ],
    dirs,
  );
  assert.deepEqual(
    set.hooks.map((hook) => hook.file),
    ['/opt/hooks/a.hook'],
  );
  assert.throws(() => loadHooks([{ dir: '/tmp', name: 'a.hook', text: '' }]), /not a hook directory/);
});

const ALPHA = {
  name: 'alpha',
  files: ['etc/', 'etc/a.conf', 'usr/', 'usr/lib/', 'usr/lib/modules/', 'usr/lib/modules/6.1/']
    .concat(['usr/lib/modules/6.1/vmlinuz', 'usr/lib/modules/6.1/x/', 'usr/lib/modules/6.1/x/vmlinuz'])
    .concat(['usr/share/', 'usr/share/doc/', 'usr/share/doc/a/']),
};
const BETA = {
  name: 'beta',
  files: ['usr/', 'usr/lib/', 'usr/lib/modules/', 'usr/lib/modules/6.2/', 'usr/lib/modules/6.2/vmlinuz']
    .concat(['usr/share/', 'usr/share/doc/', 'usr/share/doc/b/', 'usr/share/doc/b/x']),
};
const FRESH: HookTransaction = { add: [ALPHA, BETA] };

function runsOf(files: HookFile[], when: 'PreTransaction' | 'PostTransaction', transaction: HookTransaction) {
  return matchHooks(loadHooks(files), when, transaction);
}

function stdinOf(text: string, transaction = FRESH): string | undefined {
  const runs = runsOf([{ dir: USR, name: 't.hook', text }], 'PostTransaction', transaction);
  assert.equal(runs.length, 1, 'the hook runs');
  return runs[0]!.stdin;
}

test('a Path trigger on vmlinuz fires on a fresh install; `*` matches `/` too', () => {
  const text = simple('depmod', { type: 'Path', targets: ['usr/lib/modules/*/vmlinuz'], lines: ['NeedsTargets'] });
  // As pacman 6.0.2 wrote it to the hook's stdin.
  assert.equal(stdinOf(text), 'usr/lib/modules/6.1/vmlinuz\nusr/lib/modules/6.1/x/vmlinuz\nusr/lib/modules/6.2/vmlinuz\n');
  const [run] = runsOf([{ dir: USR, name: 't.hook', text: KERNEL_HOOK }], 'PostTransaction', FRESH);
  assert.deepEqual(run, {
    name: 't.hook',
    file: `${USR}/t.hook`,
    description: 'Building initramfs images...',
    argv: ['/usr/share/libalpm/scripts/kiln-initramfs', 'install'],
    stdin: 'usr/lib/modules/6.1/vmlinuz\nusr/lib/modules/6.1/x/vmlinuz\nusr/lib/modules/6.2/vmlinuz\n',
    abortOnFail: false,
    depends: [],
  });
});

test('NeedsTargets gets the sorted, unique paths, directories with their slash', () => {
  const text = simple('t', { type: 'Path', targets: ['usr/lib/modules/*/vmlinuz', 'usr/share/*'], lines: ['NeedsTargets'] });
  assert.equal(
    stdinOf(text),
    [
      'usr/lib/modules/6.1/vmlinuz',
      'usr/lib/modules/6.1/x/vmlinuz',
      'usr/lib/modules/6.2/vmlinuz',
      'usr/share/',
      'usr/share/doc/',
      'usr/share/doc/a/',
      'usr/share/doc/b/',
      'usr/share/doc/b/x',
      '',
    ].join('\n'),
  );
});

test('the last target that matches decides, and `!` excludes', () => {
  const text = simple('t', { type: 'Path', targets: ['usr/*', '!usr/share/*', 'usr/share/doc/b/*'], lines: ['NeedsTargets'] });
  // As pacman 6.0.2 wrote it.
  const expected = ['usr/', 'usr/lib/', 'usr/lib/modules/', 'usr/lib/modules/6.1/', 'usr/lib/modules/6.1/vmlinuz']
    .concat(['usr/lib/modules/6.1/x/', 'usr/lib/modules/6.1/x/vmlinuz', 'usr/lib/modules/6.2/'])
    .concat(['usr/lib/modules/6.2/vmlinuz', 'usr/share/doc/b/', 'usr/share/doc/b/x']);
  assert.equal(stdinOf(text), expected.join('\n') + '\n');
  const onlyExcluded = simple('t', { type: 'Path', targets: ['!usr/*'] });
  assert.deepEqual(runsOf([{ dir: USR, name: 't.hook', text: onlyExcluded }], 'PostTransaction', FRESH), []);
});

test('systemd-style hooks: several targets, an exclusion, and no targets on stdin', () => {
  const transaction: HookTransaction = {
    add: [
      {
        name: 'systemd',
        files: ['usr/lib/systemd/system/', 'usr/lib/systemd/system/getty@.service']
          .concat(['usr/lib/systemd/system/multi-user.target.wants/', 'usr/lib/sysusers.d/', 'usr/lib/sysusers.d/basic.conf']),
      },
      { name: 'dbus', files: ['usr/lib/systemd/system/sockets.target.wants/dbus.socket'] },
    ],
  };
  const reload = hookText(
    '[Trigger]',
    'Type = Path',
    'Operation = Install',
    'Operation = Upgrade',
    'Operation = Remove',
    'Target = usr/lib/systemd/system/*',
    'Target = !usr/lib/systemd/system/*.wants/*',
    '[Action]',
    'Description = Reloading system manager configuration...',
    'When = PostTransaction',
    'Exec = /usr/share/libalpm/scripts/kiln-systemd reload',
    'Depends = systemd',
  );
  const sysusers = hookText(
    '[Trigger]',
    'Type = Path',
    'Operation = Install',
    'Operation = Upgrade',
    'Target = usr/lib/sysusers.d/*.conf',
    '[Action]',
    'Description = Creating system user accounts...',
    'When = PostTransaction',
    'Exec = /usr/share/libalpm/scripts/kiln-systemd sysusers',
  );
  const onlyWants = hookText(
    '[Trigger]',
    'Type = Path',
    'Operation = Install',
    'Target = usr/lib/systemd/system/*.wants/*',
    'Target = !usr/lib/systemd/system/*',
    '[Action]',
    'When = PostTransaction',
    'Exec = /usr/bin/never',
  );
  const runs = runsOf(
    [
      { dir: USR, name: '30-kiln-daemon-reload.hook', text: reload },
      { dir: USR, name: '20-kiln-sysusers.hook', text: sysusers },
      { dir: USR, name: '25-only-wants.hook', text: onlyWants },
    ],
    'PostTransaction',
    transaction,
  );
  assert.deepEqual(
    runs.map((run) => [run.name, run.argv.at(-1), run.stdin, run.depends]),
    [
      ['20-kiln-sysusers.hook', 'sysusers', undefined, []],
      ['30-kiln-daemon-reload.hook', 'reload', undefined, ['systemd']],
    ],
  );
});

test('Package triggers match package names, globs included', () => {
  const files: HookFile[] = [
    { dir: USR, name: 'all.hook', text: simple('all', { lines: ['NeedsTargets'] }) },
    { dir: USR, name: 'b.hook', text: simple('b', { targets: ['b*'], lines: ['NeedsTargets'] }) },
    { dir: USR, name: 'none.hook', text: simple('none', { targets: ['gamma', 'alpha?'] }) },
    { dir: USR, name: 'bang.hook', text: simple('bang', { targets: ['\\!*'] }) },
  ];
  const runs = runsOf(files, 'PostTransaction', { add: [...FRESH.add, { name: '!bang', files: [] }] });
  assert.deepEqual(
    runs.map((run) => [run.name, run.stdin]),
    [
      ['all.hook', '!bang\nalpha\nbeta\n'],
      ['b.hook', 'beta\n'],
      ['bang.hook', undefined],
    ],
  );
});

test('targets from several triggers are merged', () => {
  const text = hookText(
    '[Trigger]',
    'Type = Package',
    'Operation = Install',
    'Target = beta',
    '[Trigger]',
    'Type = Path',
    'Operation = Install',
    'Target = etc/*',
    '[Trigger]',
    'Type = Package',
    'Operation = Remove',
    'Target = alpha',
    '[Action]',
    'When = PostTransaction',
    'Exec = /usr/bin/t',
    'NeedsTargets',
  );
  assert.equal(stdinOf(text), 'beta\netc/\netc/a.conf\n');
});

test('Install, Upgrade and Remove as pacman tells them apart', () => {
  // alpha 2 replaces alpha 1 (without usr/lib/modules/6.1/x/, with usr/lib/new); beta is new; gamma goes.
  const alpha2 = ['etc/', 'etc/a.conf', 'usr/', 'usr/lib/', 'usr/lib/modules/', 'usr/lib/modules/6.1/']
    .concat(['usr/lib/modules/6.1/vmlinuz', 'usr/share/', 'usr/share/doc/', 'usr/share/doc/a/', 'usr/lib/new']);
  const transaction: HookTransaction = {
    add: [{ name: 'alpha', files: alpha2, oldFiles: ALPHA.files }, BETA],
    remove: [{ name: 'gamma', files: ['opt/', 'opt/gamma'] }],
  };
  const hook = (type: string, operation: string) =>
    hookText('[Trigger]', `Type = ${type}`, `Operation = ${operation}`, 'Target = usr/*', 'Target = etc/*')
      .concat(type === 'Package' ? 'Target = *\n' : 'Target = opt/*\n')
      .concat(hookText('[Action]', 'When = PostTransaction', 'Exec = /usr/bin/t', 'NeedsTargets'));
  const stdin = (type: string, operation: string) =>
    runsOf([{ dir: USR, name: 't.hook', text: hook(type, operation) }], 'PostTransaction', transaction)[0]?.stdin;
  // As pacman 6.0.2 wrote them (gamma added here).
  assert.equal(
    stdin('Path', 'Install'),
    'usr/lib/modules/6.2/\nusr/lib/modules/6.2/vmlinuz\nusr/lib/new\nusr/share/doc/b/\nusr/share/doc/b/x\n',
  );
  assert.equal(stdin('Path', 'Remove'), 'opt/\nopt/gamma\nusr/lib/modules/6.1/x/\nusr/lib/modules/6.1/x/vmlinuz\n');
  assert.equal(
    stdin('Path', 'Upgrade'),
    'etc/\netc/a.conf\nusr/\nusr/lib/\nusr/lib/modules/\nusr/lib/modules/6.1/\nusr/lib/modules/6.1/vmlinuz\n' +
      'usr/share/\nusr/share/doc/\nusr/share/doc/a/\n',
  );
  assert.equal(stdin('Package', 'Install'), 'beta\n');
  assert.equal(stdin('Package', 'Upgrade'), 'alpha\n');
  assert.equal(stdin('Package', 'Remove'), 'gamma\n');
  // A Remove trigger does nothing on a fresh install.
  assert.deepEqual(runsOf([{ dir: USR, name: 't.hook', text: hook('Path', 'Remove') }], 'PostTransaction', FRESH), []);
});

test('runs only the hooks of the phase; AbortOnFail only counts before the transaction', () => {
  const files: HookFile[] = [
    { dir: USR, name: 'pre.hook', text: simple('pre', { when: 'PreTransaction', lines: ['AbortOnFail'] }) },
    { dir: USR, name: 'post.hook', text: simple('post', { lines: ['AbortOnFail', 'Depends = coreutils'] }) },
  ];
  const set = loadHooks(files);
  assert.deepEqual(set.warnings, [`AbortOnFail set for PostTransaction hook: ${USR}/post.hook`]);
  const pre = matchHooks(set, 'PreTransaction', FRESH);
  const post = matchHooks(set, 'PostTransaction', FRESH);
  assert.deepEqual(
    pre.map((run) => [run.name, run.abortOnFail, run.stdin]),
    [['pre.hook', true, undefined]],
  );
  assert.deepEqual(
    post.map((run) => [run.name, run.abortOnFail, run.depends]),
    [['post.hook', false, ['coreutils']]],
  );
  assert.deepEqual(matchHooks(set, 'PostTransaction', { add: [] }), []);
});

test('an invalid hook file stops the transaction before it, and is skipped after it', () => {
  const set = loadHooks([
    { dir: USR, name: 'good.hook', text: simple('good') },
    { dir: USR, name: 'bad.hook', text: '[Trigger]\nBogus = 1\n' },
    { dir: USR, name: 'worse.hook', text: '[Action]\nExec = "\n' },
  ]);
  assert.deepEqual(set.errors, [
    `hook ${USR}/bad.hook line 2: invalid option Bogus`,
    `hook ${USR}/worse.hook line 2: invalid value "`,
  ]);
  assert.throws(
    () => matchHooks(set, 'PreTransaction', FRESH),
    (error: unknown) =>
      error instanceof BuildError && error.message === `pacman hooks: ${set.errors[0]} (and 1 more)` && !!error.hint,
  );
  assert.deepEqual(
    matchHooks(set, 'PostTransaction', FRESH).map((run) => run.name),
    ['good.hook'],
  );
});

test('file lists are relative, as in pacman; an absolute path is a mistake', () => {
  const text = simple('t', { type: 'Path', targets: ['*'] });
  assert.throws(() => stdinOf(text, { add: [{ name: 'x', files: ['/usr/bin/x'] }] }), /relative paths/);
});

test('globs follow glibc fnmatch without flags', () => {
  const cases: [string, string, boolean][] = [
    ['usr/lib/modules/*/vmlinuz', 'usr/lib/modules/6.1/extra/vmlinuz', true],
    ['usr/share/*', 'usr/share/', true],
    ['usr/share/*', 'usr/share', false],
    ['*', '.hidden/x', true],
    ['?', '/', true],
    ['??', 'a', false],
    ['a*b*c', 'abxbxc', true],
    ['usr/lib/[!a]*', 'usr/lib/b', true],
    ['usr/lib/[^a]*', 'usr/lib/a', false],
    ['[!a]', '/', true],
    ['[a-c]x', 'bx', true],
    ['[c-a]', 'c', false],
    ['[!c-a]', 'x', true],
    ['[a-]', '-', true],
    ['[]a]', ']', true],
    ['[!]a]', ']', false],
    ['[\\]]', ']', true],
    ['[a\\-z]', 'b', false],
    ['[[:digit:]][[:upper:]]', '5Q', true],
    ['[[:alpha:]-z]', '-', true],
    ['[[.a.]-c]', 'b', true],
    ['[[=a=]]', 'a', true],
    ['[[:space:]]', '\t', true],
    ['[[:c]', ':', true],
    ['[a', '[a', true],
    ['a[', 'a[', true],
    ['\\*', '*', true],
    ['\\*', 'x', false],
    ['\\a', 'a', true],
    ['lib\\.so', 'lib.so', true],
    ['a.c', 'abc', false],
    ['(x)+|y$', '(x)+|y$', true],
    ['é?', 'éa', true],
    ['a\\', 'a\\', false],
    ['[[:foo:]]', 'f', false],
    ['[[.ab.]]', 'a', false],
    ['', '', true],
  ];
  for (const [pattern, text, matches] of cases) {
    assert.equal(compileGlob(pattern)?.test(text) ?? false, matches, `${pattern} ~ ${text}`);
  }
});

test('log lines as pacman prints them', () => {
  assert.equal(describeHookRun({ name: 'a.hook', description: 'Updating icons...' }, 1, 3), '(1/3) Updating icons...');
  assert.equal(describeHookRun({ name: 'b.hook' }, 3, 12), '( 3/12) b.hook');
  assert.equal(HOOK_PHASE_TITLES.PostTransaction, 'Running post-transaction hooks...');
});

test('names and targets sort by code point, as strcmp sorts UTF-8', () => {
  // UTF-16 puts U+1F600 (a surrogate pair) before U+FF5E; UTF-8 and code points put it after.
  assert.ok(compareCodePoints('\u{1F600}', '\uFF5E') > 0);
  assert.ok(compareCodePoints('a', 'ab') < 0);
  assert.ok(compareCodePoints('B', 'a') < 0);
  assert.equal(compareCodePoints('x\u{1F600}', 'x\u{1F600}'), 0);
});
