// Bundles the CLI for start-up speed: one minified, code-split ESM build instead of dozens of
// modules. Start-up libraries (commander, chalk) are bundled in; heavy ones (imapflow, nodemailer,
// inquirer, keyring) stay external and load lazily, only on the commands that use them.
// tsc has just written dist/ (the per-module build the benchmarks import); this replaces
// dist/cli/main.js with the bundle's entry and puts its chunks beside it.
import { build } from 'esbuild';
import { cpSync, readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const bundled = new Set(['commander', 'chalk']);

await build({
  entryPoints: { main: 'src/cli/main.ts' },
  outdir: 'dist/cli',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: true,
  sourcemap: true,
  external: Object.keys(pkg.dependencies).filter((name) => !bundled.has(name)),
  // commander is CommonJS: its require('events') needs a real require inside the ESM bundle.
  banner: { js: "import { createRequire as __mailboxRequire } from 'node:module'; const require = __mailboxRequire(import.meta.url);" },
  logLevel: 'warning',
});

// The database schema's migrations are SQL files read at run time (store/postgres/schema.ts).
cpSync('src/store/postgres/migrations', 'dist/store/postgres/migrations', { recursive: true });
