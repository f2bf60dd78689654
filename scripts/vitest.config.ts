// The packaging check's own tests: its rules on hand-made manifests and install trees, and a
// full run on fixture packages that are each broken in one known way.
import { defineProject } from 'vitest/config'

export default defineProject({
  test: {
    name: 'scripts',
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 20_000,
    // The fixture run packs and installs six packages with npm.
    hookTimeout: 300_000,
  },
})
