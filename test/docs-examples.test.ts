/**
 * Every code block in README.md and docs/*.md that is meant to run, runs as written.
 *
 * The convention (also in CONTRIBUTING.md):
 * - A ```ts (or ```typescript) block is a complete program. It is type-checked against the real
 *   code (`errand` resolves to src/) and run with tsx; it must exit 0 within 60 s. Its Redis
 *   address 127.0.0.1:6379 is replaced by REDIS_URL (test/helpers.ts); it runs in an empty
 *   temporary directory, so `sqlite:` paths land there.
 * - A ```json block must parse as JSON.
 * - ```ts fragment / ```json fragment (the word "fragment" after the language) marks a block that
 *   is only a piece of a program: it is skipped. Use it sparingly.
 * - Other languages (sh, toml, text, ...) are not checked here.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import { deleteByPrefix, REDIS_URL, tempDir } from './helpers.ts';

const repo = join(import.meta.dirname, '..');

export interface CodeBlock {
  readonly file: string;
  readonly line: number;
  readonly lang: string;
  readonly fragment: boolean;
  readonly code: string;
}

/** The fenced code blocks of a Markdown text (``` fences, optionally indented). */
export function codeBlocks(file: string, text: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\S*)\s*(.*)$/.exec(lines[i] ?? '');
    if (!open) continue;
    const indent = open[1] ?? '';
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j] ?? ''); j++)
      body.push((lines[j] ?? '').slice(indent.length));
    blocks.push({
      file,
      line: i + 1,
      lang: (open[2] ?? '').toLowerCase(),
      fragment: /\bfragment\b/.test(open[3] ?? ''),
      code: body.join('\n'),
    });
    i = j;
  }
  return blocks;
}

const docFiles = [
  'README.md',
  ...readdirSync(join(repo, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];
const blocks = docFiles.flatMap((f) => codeBlocks(f, readFileSync(join(repo, f), 'utf8')));
const where = (b: CodeBlock): string => `${b.file}:${b.line}`;
const programs = blocks.filter((b) => (b.lang === 'ts' || b.lang === 'typescript') && !b.fragment);
const jsonBlocks = blocks.filter((b) => b.lang === 'json' && !b.fragment);

/** `errand` and `errand/<sub>` as package.json exports them, mapped from dist/*.js to src/*.ts. */
const entry: Record<string, string> = Object.fromEntries(
  Object.entries(
    (
      JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {
        exports: Record<string, { default: string }>;
      }
    ).exports,
  ).map(([sub, e]) => [
    `errand${sub.slice(1)}`,
    e.default.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts'),
  ]),
);

/** The block as a file in `dir`: `errand` imports point at src/, the Redis address at the test server. */
function asProgram(b: CodeBlock, dir: string): string {
  const code = b.code
    .replace(
      /(from\s+|import\s*\(\s*)(['"])(errand(?:\/[\w-]+)?)\2/g,
      (_, head: string, q: string, spec: string) =>
        `${head}${q}${relative(dir, join(repo, entry[spec] ?? spec))}${q}`,
    )
    .replaceAll('redis://127.0.0.1:6379', REDIS_URL);
  // Top-level await needs a module; a block without imports is one too.
  return `// ${where(b)}\n${code}\nexport {};\n`;
}

function run(
  cmd: string,
  args: readonly string[],
  cwd: string,
  timeoutMs: number,
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, out: signal ? `${out}\n(killed by ${signal} after ${timeoutMs} ms)` : out });
    });
  });
}

void describe('code blocks in README.md and docs/', () => {
  // The documented programs use the shared Redis with the default prefix or their own: their keys go.
  const redisPrefixes = new Set(['errand']);
  for (const b of programs) for (const m of b.code.matchAll(/prefix: '([^']+)'/g)) redisPrefixes.add(m[1]!);
  after(() => deleteByPrefix(...[...redisPrefixes].map((prefix) => `${prefix}:`)));

  void it('finds the README examples (the extraction itself works)', () => {
    const readme = programs.filter((b) => b.file === 'README.md');
    assert.ok(readme.length >= 2, `README.md has ${readme.length} runnable ts blocks`);
    assert.ok(readme.some((b) => b.code.includes('await worker.start()')));
    const nested = codeBlocks('x.md', 'a\n\n  ```ts\n  const x = 1;\n  ```\n\n```ts fragment\nx\n```\n');
    assert.deepEqual(
      nested.map((b) => [b.line, b.lang, b.fragment, b.code]),
      [
        [3, 'ts', false, 'const x = 1;'],
        [7, 'ts', true, 'x'],
      ],
    );
  });

  void it('json blocks parse', () => {
    for (const b of jsonBlocks) {
      assert.doesNotThrow(() => JSON.parse(b.code), `${where(b)} is not valid JSON`);
    }
  });

  const dir = tempDir('docs-examples');
  // Documented programs are ES modules (top-level await), as in a project with "type": "module".
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  const files = programs.map((b) => {
    const name = `${b.file.replace(/[^\w]+/g, '-')}-${b.line}.ts`;
    writeFileSync(join(dir, name), asProgram(b, dir));
    return { block: b, path: join(dir, name) };
  });

  void it('ts blocks type-check against the real code', async () => {
    const tsconfig = {
      extends: join(repo, 'tsconfig.json'),
      compilerOptions: { noEmit: true, rootDir: '/', typeRoots: [join(repo, 'node_modules/@types')] },
      files: files.map((f) => f.path),
      include: [],
    };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
    const tsc = join(repo, 'node_modules/.bin/tsc');
    const r = await run(tsc, ['-p', join(dir, 'tsconfig.json')], dir, 120_000);
    // Name the Markdown file and line, not the temporary file.
    const report = r.out.replaceAll(`${dir}/`, '');
    assert.equal(r.code, 0, `type errors in documented code:\n${report}`);
  });

  for (const f of files) {
    void it(`${where(f.block)} runs as written`, async () => {
      const cwd = tempDir('docs-run');
      const r = await run(process.execPath, ['--import', import.meta.resolve('tsx'), f.path], cwd, 60_000);
      assert.equal(r.code, 0, `${where(f.block)} failed:\n${r.out}`);
    });
  }
});
