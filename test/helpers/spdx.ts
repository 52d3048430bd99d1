/**
 * Checking an SPDX 2.3 JSON document: the JSON schema (ours, written from the
 * specification, and the SPDX project's own when KILN_SPDX_SCHEMA names it),
 * then what a schema cannot say: unique ids (packages' and files'),
 * relationships that point at elements of the document, license expressions
 * made of SPDX license ids or LicenseRefs the document declares, and a
 * package verification code that is that of the files the package CONTAINS
 * (clause 7.9).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import licenseIds from 'spdx-license-ids/index.json' with { type: 'json' };

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const OUR_SCHEMA = fileURLToPath(new URL('../fixtures/spdx-2.3.schema.json', import.meta.url));
const KNOWN = new Set(licenseIds as string[]);

function schemaProblems(schemaFile: string, doc: unknown): string[] {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  const validate = ajv.compile(JSON.parse(readFileSync(schemaFile, 'utf8')));
  if (validate(doc)) return [];
  return (validate.errors ?? []).map((e) => `${schemaFile.split('/').pop()}: ${e.instancePath || '/'} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`);
}

interface Doc {
  SPDXID: string;
  packages?: { SPDXID: string; licenseDeclared?: string; licenseConcluded?: string; filesAnalyzed?: boolean; packageVerificationCode?: { packageVerificationCodeValue: string } }[];
  files?: { SPDXID: string; checksums: { algorithm: string; checksumValue: string }[] }[];
  relationships?: { spdxElementId: string; relationshipType: string; relatedSpdxElement: string }[];
  hasExtractedLicensingInfos?: { licenseId: string }[];
}

export function spdxProblems(doc: unknown): string[] {
  const problems = schemaProblems(OUR_SCHEMA, doc);
  if (process.env.KILN_SPDX_SCHEMA) problems.push(...schemaProblems(process.env.KILN_SPDX_SCHEMA, doc));
  const d = doc as Doc;
  const ids = [d.SPDXID, ...(d.packages ?? []).map((p) => p.SPDXID), ...(d.files ?? []).map((f) => f.SPDXID)];
  const dupes = ids.filter((id, i) => ids.indexOf(id) !== i);
  if (dupes.length) problems.push(`duplicate SPDXIDs: ${dupes.join(', ')}`);
  for (const r of d.relationships ?? []) {
    for (const id of [r.spdxElementId, r.relatedSpdxElement]) if (!ids.includes(id) && id !== 'NOASSERTION' && id !== 'NONE') problems.push(`relationship to unknown element ${id}`);
  }
  const refs = new Set((d.hasExtractedLicensingInfos ?? []).map((l) => l.licenseId));
  for (const p of d.packages ?? []) {
    for (const expression of [p.licenseDeclared, p.licenseConcluded]) {
      if (!expression || expression === 'NOASSERTION' || expression === 'NONE') continue;
      const tokens = expression.replace(/[()]/g, ' ').split(/\s+/).filter((t) => t && !['AND', 'OR', 'WITH'].includes(t));
      for (const t of tokens) {
        if (t.startsWith('LicenseRef-') ? !refs.has(t) : !KNOWN.has(t.replace(/\+$/, ''))) problems.push(`${p.SPDXID}: "${t}" in "${expression}" is neither an SPDX license id nor a declared LicenseRef`);
      }
    }
  }
  const files = new Map((d.files ?? []).map((f) => [f.SPDXID, f]));
  for (const p of d.packages ?? []) {
    const contained = (d.relationships ?? []).filter((r) => r.spdxElementId === p.SPDXID && r.relationshipType === 'CONTAINS' && files.has(r.relatedSpdxElement));
    if (contained.length && p.filesAnalyzed === false) problems.push(`${p.SPDXID} CONTAINS files but says filesAnalyzed: false`);
    if (!p.packageVerificationCode) continue;
    const sha1s = contained.map((r) => files.get(r.relatedSpdxElement)!.checksums.find((c) => c.algorithm === 'SHA1')?.checksumValue ?? '').sort();
    const code = createHash('sha1').update(sha1s.join('')).digest('hex');
    if (code !== p.packageVerificationCode.packageVerificationCodeValue) problems.push(`${p.SPDXID}: packageVerificationCode ${p.packageVerificationCode.packageVerificationCodeValue} is not its files' (${code})`);
  }
  return problems;
}
