import assert from 'node:assert/strict';
import { test } from 'node:test';
import { field, formatStanza, parseStanzas } from '../../src/formats/deb/control.ts';
import { UserError } from '../../src/util/errors.ts';

test('parses stanzas, continuation lines and the " ." empty line', () => {
  const text = [
    'Package: hello',
    'Version: 2.10-3  ',
    'Description: example package',
    ' The first line.',
    ' .',
    '  indented line',
    '\tafter a tab',
    'Empty:',
    '',
    '',
    '# a comment',
    'Package: world',
    'Conffiles:',
    ' /etc/world.conf 0123',
  ].join('\n');
  const stanzas = parseStanzas(text);
  assert.equal(stanzas.length, 2);
  const [hello, world] = stanzas;
  assert.deepEqual([...hello!.keys()], ['Package', 'Version', 'Description', 'Empty']);
  assert.equal(hello!.get('Version'), '2.10-3');
  assert.equal(hello!.get('Description'), 'example package\nThe first line.\n\n indented line\nafter a tab');
  assert.equal(hello!.get('Empty'), '');
  assert.equal(world!.get('Conffiles'), '\n/etc/world.conf 0123');
});

test('accepts CRLF line ends, blank lines of spaces and no final newline', () => {
  const stanzas = parseStanzas('A: 1\r\nB: two\r\n  \r\nA: 3');
  assert.deepEqual(
    stanzas.map((stanza) => [...stanza]),
    [
      [
        ['A', '1'],
        ['B', 'two'],
      ],
      [['A', '3']],
    ],
  );
  assert.deepEqual(parseStanzas(''), []);
  assert.deepEqual(parseStanzas('\n\n'), []);
});

test('field() looks names up case-insensitively, exact spelling first', () => {
  const [usual, odd] = parseStanzas('Package: a\nMulti-Arch: same\n\npackage: b\nMULTI-ARCH: foreign\n');
  assert.equal(field(usual!, 'Package'), 'a');
  assert.equal(field(usual!, 'multi-arch'), 'same');
  assert.equal(field(usual!, 'Essential'), undefined);
  assert.equal(field(odd!, 'Package'), 'b');
  assert.equal(field(odd!, 'Multi-Arch'), 'foreign');
  const handMade = new Map([['SOURCE', 'x']]);
  assert.equal(field(handMade, 'Source'), 'x');
  usual!.set('essential', 'yes');
  assert.equal(field(usual!, 'Essential'), 'yes');
});

test('malformed control data is a UserError with the line number', () => {
  assert.throws(() => parseStanzas('Package: a\nno colon here\n'), (error: unknown) => {
    assert.ok(error instanceof UserError);
    assert.match(error.message, /line 2: expected "Name: value"/);
    return true;
  });
  assert.throws(() => parseStanzas(' continued\n'), /line 1: continuation line without a field/);
  assert.throws(() => parseStanzas('\n: value\n'), /line 2/);
});

test('formatStanza writes what parseStanzas reads', () => {
  const fields: [string, string][] = [
    ['Package', 'hello'],
    ['Status', 'install ok installed'],
    ['Conffiles', '\n/etc/hello.conf abc'],
    ['Description', 'greets\nThe long text.\n\n indented'],
  ];
  const text = formatStanza(fields);
  assert.equal(
    text,
    'Package: hello\nStatus: install ok installed\nConffiles:\n /etc/hello.conf abc\n' +
      'Description: greets\n The long text.\n .\n  indented\n',
  );
  assert.deepEqual([...parseStanzas(text)[0]!], fields);
  const twoStanzas = [formatStanza([['A', '1']]), formatStanza(new Map([['B', '2']]))].join('\n');
  assert.equal(parseStanzas(twoStanzas).length, 2);
  assert.throws(() => formatStanza([['Bad Name', 'x']]), /invalid control field name/);
});
