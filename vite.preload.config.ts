// Bundles the sandboxed preload (preload/preload.ts) into dist/preload/preload.cjs: one CommonJS
// file that requires nothing but 'electron' (a sandboxed preload cannot load other modules).
import path from 'node:path';
import { defineConfig } from 'vite';

const root = import.meta.dirname;

export default defineConfig({
  root,
  publicDir: false,
  logLevel: 'warn',
  build: {
    outDir: path.join(root, 'dist', 'preload'),
    emptyOutDir: true,
    target: 'es2023',
    minify: false,
    sourcemap: false,
    reportCompressedSize: false,
    lib: {
      entry: path.join(root, 'preload', 'preload.ts'),
      formats: ['cjs'],
      fileName: () => 'preload.cjs',
    },
    rolldownOptions: {
      external: ['electron'],
    },
  },
});
