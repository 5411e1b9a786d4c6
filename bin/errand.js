#!/usr/bin/env node
// The `errand` command. Runs the compiled CLI when the package is built (dist/), and the
// TypeScript sources through tsx otherwise (a checkout), or when ERRAND_FROM_SOURCE=1 (the
// tests set it, so a stale dist/ never hides a change in src/).
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/cli/main.js', import.meta.url);
let cli;
if (existsSync(compiled) && !process.env.ERRAND_FROM_SOURCE) {
  cli = await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(new URL('../src/cli/main.ts', import.meta.url).href);
}
await cli.run();
