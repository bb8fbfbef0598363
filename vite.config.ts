import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * The UI's one build (renderer/ -> dist/renderer): loaded from disk by the Electron windows and
 * served at /ui/ by the daemon for the browser dashboard. Relative asset URLs (base './') work
 * in both places.
 */
export default defineConfig({
  root: 'renderer',
  base: './',
  plugins: [react()],
  build: {
    outDir: '../dist/renderer',
    emptyOutDir: true,
    sourcemap: true,
    target: 'es2022',
  },
});
