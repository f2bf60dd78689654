// One vitest run for the whole workspace: a project per package (each package's own
// vitest.config.ts), one summary. The JSON report feeds the one-line CI summary.
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts', 'examples/vitest.config.ts', 'scripts/vitest.config.ts'],
    reporters: ['default', ['json', { outputFile: '.vitest/results.json' }]],
  },
})
