import { defineConfig } from 'tsup'

// The leaf re-export entries (`@x/http/router`, …) build to dist/<leaf>.js; the leaves stay
// external (they are dependencies), so each entry is one `export *` line and no leaf is inlined.
export const leafEntries = {
  router: 'src/leaves/router.ts',
  'client-pool': 'src/leaves/client-pool.ts',
  'circuit-breaker': 'src/leaves/circuit-breaker.ts',
  'circuit-breaker-redis': 'src/leaves/circuit-breaker-redis.ts',
  cache: 'src/leaves/cache.ts',
  'cache-redis': 'src/leaves/cache-redis.ts',
  tls: 'src/leaves/tls.ts',
  websocket: 'src/leaves/websocket.ts',
  logging: 'src/leaves/logging.ts',
}

export default defineConfig({
  entry: { index: 'src/index.ts', decorators: 'src/decorators.ts', ...leafEntries },
  format: ['esm', 'cjs'],
  dts: true,
  tsconfig: 'tsconfig.build.json',
  target: 'node20',
  clean: true,
  sourcemap: false,
})
