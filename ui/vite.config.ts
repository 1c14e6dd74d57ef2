// Vite configuration for the KubeSpace console.
//
// The build writes into ui/dist, which the Go server embeds (ui/embed.go). The
// directory holds a tracked placeholder so `go build` works without Node, so
// Vite must not empty it: emptyOutDir is off and the cleanDist plugin removes
// stale build output itself, never touching the placeholder.
import { readdirSync, rmSync } from 'node:fs'
import { fileURLToPath, URL } from 'node:url'
import { resolve } from 'node:path'
import { defineConfig, type Plugin } from 'vite'
import vue from '@vitejs/plugin-vue'

const outDir = fileURLToPath(new URL('./dist', import.meta.url))
const keep = new Set(['.placeholder'])

function cleanDist(): Plugin {
  return {
    name: 'kubespace-clean-dist',
    apply: 'build',
    buildStart() {
      let entries: string[] = []
      try {
        entries = readdirSync(outDir)
      } catch {
        return // no dist yet: nothing to clean
      }
      for (const name of entries) {
        if (!keep.has(name)) rmSync(resolve(outDir, name), { recursive: true, force: true })
      }
    },
  }
}

export default defineConfig({
  plugins: [vue(), cleanDist()],
  resolve: {
    alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) },
  },
  // vue-i18n's esm-bundler build reads these feature flags (composition API only).
  define: {
    __VUE_I18N_FULL_INSTALL__: true,
    __VUE_I18N_LEGACY_API__: false,
    __INTLIFY_PROD_DEVTOOLS__: false,
  },
  // The placeholder lives in dist/; there are no static public assets.
  publicDir: false,
  build: {
    outDir,
    emptyOutDir: false,
    assetsDir: 'assets',
    chunkSizeWarningLimit: 1200,
    rolldownOptions: {
      output: {
        codeSplitting: {
          groups: [
            { name: 'element-plus', test: /node_modules[\\/](element-plus|@element-plus|@floating-ui|dayjs|lodash)/ },
            // The editor and the terminal load only with the pages that use them.
            { name: 'codemirror', test: /node_modules[\\/](@codemirror|codemirror|@lezer|@marijn|style-mod|w3c-keyname|crelt)/ },
            { name: 'xterm', test: /node_modules[\\/]@xterm/ },
            { name: 'vendor', test: /node_modules/ },
          ],
        },
      },
    },
  },
  server: {
    proxy: {
      '/api': { target: 'http://127.0.0.1:8080', changeOrigin: false },
    },
  },
})
