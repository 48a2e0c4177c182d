// GraphiQL for development (GET /graphql in a browser), from npm, offline: a separate entry
// written to dist/graphiql/, which Flask never serves in production.
import { defineConfig } from 'vite'

export default defineConfig({
  base: '/graphiql-static/',
  publicDir: false,
  build: {
    outDir: 'dist/graphiql',
    emptyOutDir: true,
    assetsDir: 'assets',
    rollupOptions: { input: 'graphiql.html' },
    chunkSizeWarningLimit: 4000,
  },
})
