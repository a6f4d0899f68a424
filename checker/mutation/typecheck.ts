// Does a mutant compile? Stryker's instrumenter mutates the syntax without the types, so some mutants are code
// `npm run typecheck` would reject: a function that must return a state left with an empty body, a step list
// seeded with a string, a guard removed so that a value the compiler knows may be null is read. Such a mutant
// is not a spec anyone could commit, so it says nothing about the properties; Stryker's TypeScript checker
// (@stryker-mutator/typescript-checker) reports it as a *compile error* and leaves it out of the score, and so does
// `npm run mutation`. The check here is the project's own tsconfig.json, on the mutated file alone: a program
// rooted at that file (it pulls in what it imports), the file's text replaced by the mutant's, and the
// syntactic and semantic diagnostics of that one file, less those inside code the mutant made unreachable (a
// guard made `true` is a mutant that compiles in spirit: the compiler only stops narrowing after it). Programs are built incrementally (the unchanged files'
// syntax trees are reused), so a mutant costs well under a second once the first program is built.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

/** "Unreachable code detected." */
const UNREACHABLE = 7027;

export interface MutantEdit {
  /** Repository-relative path of the mutated file. */
  readonly file: string;
  /** 1-based line and column where the mutated code starts. */
  readonly line: number;
  readonly column: number;
  readonly original: string;
  readonly replacement: string;
}

/** The file's text with the mutant in: `original` at (line, column) replaced by `replacement`. */
export function applyEdit(source: string, m: MutantEdit): string {
  const lines = source.split('\n');
  let at = 0;
  for (let i = 0; i < m.line - 1; i++) at += lines[i]!.length + 1;
  at += m.column - 1;
  if (source.slice(at, at + m.original.length) !== m.original) throw new Error(`${m.file}:${m.line}:${m.column}: the source does not hold the mutant's original code there`);
  return source.slice(0, at) + m.replacement + source.slice(at + m.original.length);
}

/**
 * A type checker of mutants of the files under `root`: returns null when the mutated file compiles, else the
 * first error (`line:column message`, the line in the mutated text).
 */
export function mutantTypeChecker(root: string): (m: MutantEdit) => string | null {
  const configPath = join(root, 'tsconfig.json');
  const read = ts.readConfigFile(configPath, (p) => ts.sys.readFile(p));
  if (read.error !== undefined) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'));
  // allowUnreachableCode false: the compiler then reports the code a mutant makes unreachable (TS7027), so that
  // errors inside it can be set aside (below).
  const options = { ...ts.parseJsonConfigFileContent(read.config, ts.sys, root).options, allowUnreachableCode: false };
  const base = ts.createCompilerHost(options, true);
  const cache = new Map<string, ts.SourceFile>();
  let override: { path: string; text: string } | null = null;
  const host: ts.CompilerHost = {
    ...base,
    getSourceFile: (fileName, languageVersion, onError, shouldCreate) => {
      if (override !== null && fileName === override.path) return ts.createSourceFile(fileName, override.text, languageVersion, true);
      const hit = cache.get(fileName);
      if (hit !== undefined) return hit;
      const sf = base.getSourceFile(fileName, languageVersion, onError, shouldCreate);
      if (sf !== undefined) cache.set(fileName, sf);
      return sf;
    },
    readFile: (fileName) => (override !== null && fileName === override.path ? override.text : base.readFile(fileName)),
  };
  const originals = new Map<string, string>();
  let old: ts.Program | undefined;
  return (m) => {
    const path = join(root, m.file);
    let source = originals.get(path);
    if (source === undefined) {
      source = readFileSync(path, 'utf8');
      originals.set(path, source);
    }
    override = { path, text: applyEdit(source, m) };
    try {
      const program = ts.createProgram({ rootNames: [path], options, host, oldProgram: old });
      old = program;
      const sf = program.getSourceFile(path)!;
      const diags = [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)];
      // A guard made `true` (`if (true) return null;`, `if (true) continue;`) disables a step: a mutant that means
      // something. The code after it is unreachable, and the compiler does not narrow there, so it reports errors
      // in it (`next` possibly null after `if (next !== null)`); those are not the mutant's, and are set aside.
      const dead = diags.filter((d) => d.code === UNREACHABLE && d.start !== undefined).map((d) => [d.start!, d.start! + (d.length ?? 0)] as const);
      const inDeadCode = (d: ts.Diagnostic) => d.start !== undefined && dead.some(([a, b]) => d.start! >= a && d.start! < b);
      const first = diags.find((d) => d.category === ts.DiagnosticCategory.Error && d.code !== UNREACHABLE && !inDeadCode(d));
      if (first === undefined) return null;
      const where = first.start === undefined ? '' : (() => {
        const p = sf.getLineAndCharacterOfPosition(first.start);
        return `${p.line + 1}:${p.character + 1} `;
      })();
      return `${where}TS${first.code}: ${ts.flattenDiagnosticMessageText(first.messageText, ' ')}`.slice(0, 300);
    } finally {
      override = null;
    }
  };
}
