// The resident app. `npm run build` → dist/ (served by Flask, mobile_api/web/__init__.py).
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { fileURLToPath } from 'node:url'
import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vite'

const here = (path) => fileURLToPath(new URL(path, import.meta.url))

// The service worker is src/sw.js with the app shell's file names filled in, written as /sw.js
// (not hashed: the browser looks it up by name; its content changes with every build).
function serviceWorker() {
  return {
    name: 'servicemap-service-worker',
    apply: 'build',
    generateBundle(_options, bundle) {
      const fromModule = (name, pattern) => (bundle[name].moduleIds || []).some((id) => pattern.test(id))
      // the consoles' chunks and the styles they import (a resident's phone never downloads them)
      const consoles = Object.keys(bundle).filter((name) => fromModule(name, /[/\\]src[/\\]consoles[/\\]/))
      const consoleFiles = new Set(consoles.flatMap((name) => [name, ...(bundle[name].viteMetadata?.importedCss || [])]))
      const shell = ['/', ...Object.keys(bundle)
        .filter((name) => name.startsWith('assets/') && !name.endsWith('.map'))
        // every screen, not the sign-in SDK (it needs the network anyway) nor the consoles
        .filter((name) => !fromModule(name, /[/\\]@?firebase[/\\]/) && !consoleFiles.has(name))
        .map((name) => `/${name}`)]
      const version = createHash('sha256').update(shell.join('\n')).digest('hex').slice(0, 12)
      const source = readFileSync(here('./src/sw.js'), 'utf8')
        .replace('self.__SHELL__', JSON.stringify(shell))
        .replace('self.__VERSION__', JSON.stringify(version))
      this.emitFile({ type: 'asset', fileName: 'sw.js', source })
    },
  }
}

// Hashed assets are also written gzipped (name.gz): Flask sends those to browsers that accept
// gzip, so nothing is compressed per request.
function precompress() {
  return {
    name: 'servicemap-precompress',
    apply: 'build',
    closeBundle() {
      const dir = here('./dist/assets')
      for (const name of readdirSync(dir)) {
        if (!/\.(js|css|svg)$/.test(name)) continue
        writeFileSync(`${dir}/${name}.gz`, gzipSync(readFileSync(`${dir}/${name}`), { level: 9 }))
      }
    },
  }
}

// Vant's icon font is inlined (woff2) but names a CDN copy as a fallback: dropped, so that the
// app never refers to a CDN.
function noCdnFont() {
  return {
    name: 'servicemap-no-cdn-font',
    enforce: 'pre',
    transform(code, id) {
      if (!id.includes('vant') || !id.endsWith('.css')) return null
      return code.replace(/,url\(\/\/at\.alicdn\.com[^)]*\) format\("woff"\)/g, '')
    },
  }
}

export default defineConfig({
  plugins: [vue(), noCdnFont(), serviceWorker(), precompress()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // the GraphiQL build (vite.graphiql.config.js) writes dist/graphiql/ afterwards
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 800,
  },
  server: {
    port: 8173,
    fs: { allow: [here('.'), here('../../graphql/operations')] },
    proxy: { '/graphql': 'http://127.0.0.1:8000', '/m/v1': 'http://127.0.0.1:8000' },
  },
  test: { environment: 'node', include: ['src/**/*.test.js'] },
})
