// The settings every package's vitest project shares: read sources through the
// `@x/source` export condition, so tests never need a build of a sibling package.
import { defineProject, type UserWorkspaceConfig } from 'vitest/config'

export function packageProject(name: string, extra: UserWorkspaceConfig['test'] = {}) {
  return defineProject({
    resolve: { conditions: ['@x/source'] },
    ssr: { resolve: { conditions: ['@x/source'] } },
    test: {
      name,
      include: ['test/**/*.test.ts'],
      environment: 'node',
      testTimeout: 20_000,
      hookTimeout: 20_000,
      ...extra,
    },
  })
}
