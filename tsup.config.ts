// The CLI ships as a bundle: one file to load at start-up instead of dozens of modules.
// Start-up libraries (commander, chalk) are bundled in; heavy ones (imapflow, nodemailer, inquirer,
// keyring) stay external and load lazily, each in its own chunk, only on the commands that use them.
import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { 'cli/main': 'src/cli/main.ts' },
  outDir: 'dist',
  format: ['esm'],
  platform: 'node',
  target: 'node20',
  splitting: true,
  sourcemap: true,
  // Less to parse at every start; the source map keeps stack traces readable.
  minify: true,
  // tsc has just written dist/ (the modules the benchmarks import); the bundle replaces dist/cli/main.js.
  clean: false,
  noExternal: ['commander', 'chalk'],
  // commander is CommonJS: its require('events') needs a real require inside the ESM bundle.
  banner: { js: "import { createRequire as __mailboxRequire } from 'node:module'; const require = __mailboxRequire(import.meta.url);" },
});
