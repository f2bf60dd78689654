export type RouteRow = [method: string, pattern: string]
export const github: RouteRow[]
export const extra: RouteRow[]
export const tables: Record<'github' | 'github-full', RouteRow[]>
export function concrete(pattern: string): string
export function paramsOf(pattern: string): Record<string, string>
export const cases: Array<[name: string, method: string, url: string, expected: string | null]>
