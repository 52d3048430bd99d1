/**
 * Type-checking TypeScript in a test, for guards that only the compiler
 * enforces (an exhaustive table that leaves an entry out must not compile).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const OPTIONS: ts.CompilerOptions = {
  strict: true,
  noUncheckedIndexedAccess: true,
  noEmit: true,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2022,
  allowImportingTsExtensions: true,
  resolveJsonModule: true,
  skipLibCheck: true,
  lib: ['lib.es2023.d.ts'],
  types: ['node'],
  typeRoots: [fileURLToPath(new URL('../../node_modules/@types', import.meta.url))],
};

export interface TypeError {
  /** The file the error is in (absolute), or undefined for a global one. */
  file?: string;
  message: string;
}

/**
 * Type-checks `roots` with kiln's compiler options; `replaced` gives other
 * text for files by absolute path (the real files stay as they are). Every
 * error in every file of the program.
 */
export function programErrors(roots: string[], replaced: Record<string, string> = {}): TypeError[] {
  const host = ts.createCompilerHost(OPTIONS);
  const byPath = new Map(Object.entries(replaced).map(([path, text]) => [resolve(path), text]));
  const getSourceFile = host.getSourceFile.bind(host);
  const readFile = host.readFile.bind(host);
  host.getSourceFile = (name, version, onError, create) => {
    const text = byPath.get(resolve(name));
    return text === undefined ? getSourceFile(name, version, onError, create) : ts.createSourceFile(name, text, version);
  };
  host.readFile = (name) => byPath.get(resolve(name)) ?? readFile(name);
  const program = ts.createProgram(roots, OPTIONS, host);
  return ts.getPreEmitDiagnostics(program).map((d) => ({ file: d.file?.fileName, message: ts.flattenDiagnosticMessageText(d.messageText, '\n') }));
}

/** Type-checks `source` (a module beside nothing, importing kiln's files by absolute path); the error messages in it. */
export function typeErrors(source: string): string[] {
  const file = join(mkdtempSync(join(tmpdir(), 'kiln-typecheck-')), 'check.ts');
  writeFileSync(file, source);
  return programErrors([file])
    .filter((e) => e.file !== undefined && resolve(e.file) === file)
    .map((e) => e.message);
}
