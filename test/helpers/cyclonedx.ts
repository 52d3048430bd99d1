/**
 * Checking a CycloneDX 1.6 JSON document against the official schema, as
 * the CycloneDX project ships it in @cyclonedx/cyclonedx-library's
 * res/schema (with the SPDX license list and JSF schemas it refers to),
 * then what the schema cannot say: unique bom-refs, dependencies that point
 * at components of the document.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const SCHEMAS = join(dirname(createRequire(import.meta.url).resolve('@cyclonedx/cyclonedx-library/package.json')), 'res/schema');
let validate: ReturnType<Ajv['compile']> | undefined;

function validator(): ReturnType<Ajv['compile']> {
  if (validate) return validate;
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  // Two formats of the schema that ajv-formats does not have: an IRI reference (what URL parses, relative or not) and an internationalised e-mail address.
  ajv.addFormat('iri-reference', (s: string) => URL.canParse(s, 'http://base.invalid/'));
  ajv.addFormat('idn-email', /^[^@\s]+@[^@\s]+$/u);
  const read = (file: string) => JSON.parse(readFileSync(join(SCHEMAS, file), 'utf8')) as Record<string, unknown>;
  // The bom schema names its neighbours by file name, relative to its own $id.
  for (const file of ['spdx.SNAPSHOT.schema.json', 'jsf-0.82.SNAPSHOT.schema.json']) ajv.addSchema({ ...read(file), $id: `http://cyclonedx.org/schema/${file}` });
  validate = ajv.compile(read('bom-1.6.SNAPSHOT.schema.json'));
  return validate;
}

interface Bom {
  metadata?: { component?: { 'bom-ref'?: string } };
  components?: { 'bom-ref'?: string }[];
  dependencies?: { ref: string; dependsOn?: string[] }[];
}

export function cyclonedxProblems(doc: unknown): string[] {
  const check = validator();
  const problems = check(doc) ? [] : (check.errors ?? []).map((e) => `bom-1.6 schema: ${e.instancePath || '/'} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`);
  const bom = doc as Bom;
  const refs = [bom.metadata?.component?.['bom-ref'], ...(bom.components ?? []).map((c) => c['bom-ref'])].filter((r): r is string => r !== undefined);
  const known = new Set(refs);
  if (known.size !== refs.length) problems.push('bom-refs are not unique');
  for (const d of bom.dependencies ?? []) for (const r of [d.ref, ...(d.dependsOn ?? [])]) if (!known.has(r)) problems.push(`dependency on unknown bom-ref ${r}`);
  return problems;
}
