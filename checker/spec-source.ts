// Where a spec comes from, as plain data: a module, the name of its builder, and the builder's options. Worker
// threads cannot receive functions, so each one rebuilds the spec from this.
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ActionBase, Spec } from '../spec/model.ts';

export interface SpecSource {
  /** A file path: absolute, or relative to the repository root. */
  readonly module: string;
  /** The exported builder: (options) => Spec. */
  readonly exportName: string;
  /** Plain-data options handed to the builder. */
  readonly options: Readonly<Record<string, unknown>>;
}

export type AnySpec = Spec<unknown, ActionBase>;

export const REPO_ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

export const DEFAULT_SPEC_MODULE = 'spec/index.ts';
export const DEFAULT_SPEC_EXPORT = 'buildSpec';

export function modulePath(module: string): string {
  return isAbsolute(module) ? module : resolve(REPO_ROOT, module);
}

async function importModule(module: string): Promise<Record<string, unknown>> {
  const path = modulePath(module);
  if (!existsSync(path)) throw new SpecLoadError(`spec module ${module} not found (looked at ${path})`);
  return (await import(pathToFileURL(path).href)) as Record<string, unknown>;
}

export class SpecLoadError extends Error {}

export async function loadSpec(source: SpecSource): Promise<AnySpec> {
  const mod = await importModule(source.module);
  const build = mod[source.exportName];
  if (typeof build !== 'function') {
    throw new SpecLoadError(`spec module ${source.module} has no function export "${source.exportName}"`);
  }
  return (build as (options: unknown) => AnySpec)(source.options);
}

/** The spec module's MUTATIONS export (name → one-line description); empty when it has none. */
export async function loadMutations(module: string): Promise<Readonly<Record<string, string>>> {
  const mod = await importModule(module);
  const m = mod['MUTATIONS'];
  return typeof m === 'object' && m !== null ? (m as Record<string, string>) : {};
}
