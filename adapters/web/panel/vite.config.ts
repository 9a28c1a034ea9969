import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

/**
 * The chat panel bundle: fixed file names (panel.js, panel.css) under /chat/ so the SaaS can
 * embed it with one script tag; no inline scripts, so the page runs under a strict CSP.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/chat/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    cssCodeSplit: false,
    rolldownOptions: {
      output: { entryFileNames: 'panel.js', chunkFileNames: 'panel-[name].js', assetFileNames: 'panel[extname]' },
    },
  },
});
