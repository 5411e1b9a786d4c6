/** Errand's version, read from package.json (two levels up from both src/daemon and dist/daemon). */
import { readFileSync } from 'node:fs';

export const ERRAND_VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
})();
