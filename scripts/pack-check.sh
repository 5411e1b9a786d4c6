#!/usr/bin/env bash
# Packs Errand as `npm publish` would, installs the tarball into an empty project and uses it as a
# newcomer would: the README example (type-checked and run against Redis), SQLite without the
# Redis client, the error without it, CommonJS require(), the `errand` command. Also checks the
# tarball: LICENSE, the sources its source maps name, the files its Markdown links to.
# Needs the npm registry (to install @redis/client, tsx, typescript) and Redis
# ($ERRAND_TEST_REDIS, default redis://127.0.0.1:6379). Usage: npm run pack:check
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
redis_url=${ERRAND_TEST_REDIS:-redis://127.0.0.1:6379}
work=$(mktemp -d "${TMPDIR:-/tmp}/errand-pack-XXXXXX")
trap 'rm -rf "$work"' EXIT
step() { echo "== pack-check: $*"; }
fail() { echo "pack-check FAILED: $*" >&2; exit 1; }
npm_q() { npm "$@" --no-audit --no-fund --loglevel=error; }

cd "$repo"
step "build and pack"
npm run --silent build
npm pack --silent --pack-destination "$work" >/dev/null
tarball=$(ls "$work"/errand-*.tgz)
mkdir "$work/unpacked"
tar xzf "$tarball" -C "$work/unpacked"
pkg="$work/unpacked/package"

step "tarball contents"
for f in LICENSE README.md CHANGELOG.md package.json bin/errand.js dist/index.js dist/index.d.ts \
  dist/brokers/redis/index.js src/index.ts examples/quickstart.ts schema/message.v1.json; do
  [ -e "$pkg/$f" ] || fail "$f is not in the tarball"
done
ls "$pkg"/dist/brokers/redis/scripts/*.lua >/dev/null || fail "the Lua scripts are not in the tarball"
grep -q 'Copyright (c) 2026 The Errand authors' "$pkg/LICENSE" || fail "LICENSE has no copyright line"

# Every source map names sources that ship; every relative Markdown link points at a shipped file.
PKG="$pkg" node --input-type=module -e '
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
const pkg = process.env.PKG;
const walk = (d) => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)]));
const files = walk(pkg);
const problems = [];
let maps = 0;
for (const f of files.filter((f) => f.endsWith(".map"))) {
  maps++;
  const map = JSON.parse(readFileSync(f, "utf8"));
  for (const s of map.sources) {
    const target = resolve(dirname(f), map.sourceRoot ?? "", s);
    if (!target.startsWith(pkg + "/") || !existsSync(target)) problems.push(`${f.slice(pkg.length + 1)}: source ${s} is not shipped`);
  }
}
let links = 0;
for (const f of files.filter((f) => f.endsWith(".md"))) {
  const text = readFileSync(f, "utf8");
  for (const [, href] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^(https?:|mailto:|#)/.test(href)) continue;
    links++;
    const target = resolve(dirname(f), decodeURIComponent(href.split("#")[0]));
    if (!target.startsWith(pkg + "/") || !existsSync(target)) problems.push(`${f.slice(pkg.length + 1)}: link ${href} points at a file that is not shipped`);
  }
}
if (problems.length > 0) { console.error(problems.join("\n")); process.exit(1); }
console.log(`   ${maps} source maps and ${links} Markdown links resolve inside the package`);
' || fail "source maps or links point outside the package"

app="$work/app"
mkdir "$app"
cd "$app"
echo '{ "name": "app", "version": "1.0.0", "private": true, "type": "module" }' >package.json

step "install the tarball alone (no Redis client)"
npm_q install "$tarball"
cat >sqlite.mjs <<'EOF'
import { Errand } from 'errand';
const errand = new Errand({ broker: 'sqlite:./errand.db' });
const add = errand.task('add', async (a, b) => a + b);
const worker = errand.worker({ handleSignals: false });
await worker.start();
console.log(await (await add.send(2, 3)).result({ timeoutMs: 10_000 }));
await worker.stop();
await errand.close();
EOF
[ "$(node sqlite.mjs)" = 5 ] || fail "the SQLite broker does not work without @redis/client"
cat >no-client.mjs <<'EOF'
import { Errand } from 'errand';
const errand = new Errand({ broker: 'redis://127.0.0.1:1' });
try {
  await errand.stats();
  console.log('no error');
} catch (err) {
  console.log(err.message);
}
await errand.close();
EOF
node no-client.mjs | grep -q 'npm install @redis/client' || fail "a redis:// broker without @redis/client does not say what to install: $(node no-client.mjs)"
# The CLI's side connection (status, failed) says the same.
out=$(node_modules/.bin/errand status -b redis://127.0.0.1:1 2>&1 || true)
echo "$out" | grep -q 'npm install @redis/client' || fail "errand status without @redis/client does not say what to install: $out"

step "install @redis/client, tsx, typescript (the versions Errand is tested with)"
v() { node -p "require('$repo/package.json').devDependencies['$1']"; }
npm_q install "@redis/client@$(v @redis/client)" "tsx@$(v tsx)" "typescript@$(v typescript)" "@types/node@$(v @types/node)"

step "the README example, as written: type-check, then run on Redis"
README="$repo/README.md" REDIS_URL_FOR_TEST="$redis_url" node --input-type=module -e '
import { readFileSync, writeFileSync } from "node:fs";
const readme = readFileSync(process.env.README, "utf8");
const block = /```ts\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf("## Using it")))[1];
writeFileSync("example.ts", block.replaceAll("redis://127.0.0.1:6379", process.env.REDIS_URL_FOR_TEST));
'
cat >tsconfig.json <<'EOF'
{ "compilerOptions": { "module": "nodenext", "target": "es2023", "strict": true, "noEmit": true, "skipLibCheck": false, "types": ["node"] } }
EOF
npx tsc -p . || fail "the README example does not type-check against the installed package"
out=$(timeout 60 npx tsx example.ts) || fail "the README example failed: $out"
[ "$out" = "5 5" ] || fail "the README example printed \"$out\", not \"5 5\""

step "CommonJS: require('errand') (Node >= 20.19)"
cat >cjs.cjs <<'EOF'
const { Errand } = require('errand');
const errand = new Errand({ broker: 'memory:' });
const add = errand.task('add', async (a, b) => a + b);
errand.worker({ handleSignals: false }).start()
  .then(() => add.send(2, 3))
  .then((sent) => sent.result({ timeoutMs: 5000 }))
  .then((sum) => { console.log(sum); return errand.close(); });
EOF
[ "$(node cjs.cjs 2>/dev/null)" = 5 ] || fail "require('errand') does not work"

step "the errand command"
npx errand --version | grep -q '^errand version ' || fail "npx errand --version"
echo "== pack-check: OK ($(du -k "$tarball" | cut -f1) kB tarball, $(tar tzf "$tarball" | wc -l) files)"
