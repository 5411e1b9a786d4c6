/**
 * Loads the config's `modules`. TypeScript modules need a loader on Node 20: when Errand runs
 * from its sources one is registered already; when it is installed from npm (compiled) the
 * daemon registers tsx if tsx can be found from the config's directory, the working directory
 * or Errand's own, and otherwise refuses the module with the fix in the message (also in `-t`).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Errand } from '../core/errand.ts';

export const isTypeScript = (file: string): boolean => /\.[cm]?tsx?$/i.test(file);

/** True when this process can import .ts files already (Errand's sources run under tsx, or Node strips types). */
function loaderPresent(): boolean {
  const features = process.features as { typescript?: unknown };
  return Boolean(features.typescript) || import.meta.url.endsWith('.ts');
}

/** tsx's register APIs (file URLs): `esm` for ES modules, `cjs` for .ts files in a CommonJS package. */
export interface TsxApi {
  readonly esm: string;
  readonly cjs: string;
}

/** tsx's register APIs, found from the first of `dirs` that has tsx. */
export function findTsx(dirs: readonly string[]): TsxApi | undefined {
  for (const dir of dirs) {
    try {
      const pkgFile = createRequire(join(dir, 'noop.js')).resolve('tsx/package.json');
      const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as {
        exports?: Record<string, { import?: string | { default?: string } } | undefined>;
      };
      const url = (subpath: string): string | undefined => {
        const entry = pkg.exports?.[subpath]?.import;
        const file = typeof entry === 'string' ? entry : entry?.default;
        return file ? pathToFileURL(join(dirname(pkgFile), file)).href : undefined;
      };
      const esm = url('./esm/api');
      const cjs = url('./cjs/api');
      if (esm && cjs) return { esm, cjs };
    } catch {
      // Not installed there.
    }
  }
  return undefined;
}

/** Where tsx is looked for, in order. */
export const tsxSearchDirs = (configDir: string): string[] => [
  configDir,
  process.cwd(),
  dirname(new URL(import.meta.url).pathname),
];

/**
 * The problem with loading TypeScript modules here, or undefined when they can be loaded.
 * `where` is for tests: whether a loader is registered, and the directories to look for tsx in.
 */
export function typeScriptProblem(
  configDir: string,
  where: { present?: boolean; dirs?: readonly string[] } = {},
): string | undefined {
  if (where.present ?? loaderPresent()) return undefined;
  if (findTsx(where.dirs ?? tsxSearchDirs(configDir))) return undefined;
  return `is TypeScript, which Node ${process.version} cannot load by itself: install tsx where the config is (npm install --save-dev tsx), or compile the module to .js`;
}

let registered = false;

/**
 * Registers tsx for ES modules (unless Errand's own sources already run under it) and for
 * CommonJS: a `.ts` file in a package without `"type": "module"` is loaded as CommonJS.
 */
async function ensureTypeScript(configDir: string): Promise<void> {
  if (registered) return;
  const api = findTsx(tsxSearchDirs(configDir));
  if (!api) {
    if (loaderPresent()) return;
    throw new Error(typeScriptProblem(configDir));
  }
  const register = async (url: string) => ((await import(url)) as { register: () => unknown }).register();
  if (!loaderPresent()) await register(api.esm);
  await register(api.cjs);
  registered = true;
}

type Registrar = (errand: Errand) => unknown;

/** The module's default export or `register`; a CommonJS-compiled module nests them under `default`. */
function registrarOf(mod: Record<string, unknown>): Registrar | undefined {
  const nested =
    typeof mod.default === 'object' && mod.default !== null ? (mod.default as Record<string, unknown>) : {};
  const found = [mod.default, mod.register, nested.default, nested.register].find(
    (f) => typeof f === 'function',
  );
  return found as Registrar | undefined;
}

/** Imports each module and calls its default (or `register`) export with the Errand instance. */
export async function loadModules(
  errand: Errand,
  modules: readonly string[],
  configDir: string,
): Promise<void> {
  for (const [i, file] of modules.entries()) {
    if (isTypeScript(file)) {
      try {
        await ensureTypeScript(configDir);
      } catch (err) {
        throw new Error(`modules[${i}]: ${file} ${(err as Error).message}`);
      }
    }
    const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    const register = registrarOf(mod);
    if (!register) {
      throw new Error(
        `modules[${i}]: ${file} must export a default function (errand) => void that defines its tasks`,
      );
    }
    await register(errand);
  }
}
