// Parses path templates (`/users/{id}/files/{...path}`) into segments, once, at add().
// Owns the template grammar and its errors; matching lives in router.ts.

import { RouterError } from './errors.js'

/** One parsed segment of a template. */
export type TemplateSegment =
  | { readonly kind: 'static'; readonly text: string }
  | { readonly kind: 'param'; readonly name: string }
  | { readonly kind: 'rest'; readonly name: string }

/** The segments of a template, with its parameter names in order. */
export interface ParsedTemplate {
  readonly segments: readonly TemplateSegment[]
  readonly paramNames: readonly string[]
}

function isNameStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95
}

function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 48 && c <= 57)
}

function invalid(template: string, why: string): RouterError {
  return new RouterError(
    'X_ERR_ROUTER_INVALID_TEMPLATE',
    `invalid path template ${JSON.stringify(template)}: ${why}`,
    {
      template,
    },
  )
}

function parseName(template: string, name: string): string {
  if (name.length === 0) throw invalid(template, 'a parameter has no name')
  if (!isNameStart(name.charCodeAt(0)))
    throw invalid(template, `parameter name "${name}" must start with a letter or _`)
  for (let i = 1; i < name.length; i++) {
    if (!isNameChar(name.charCodeAt(i)))
      throw invalid(template, `parameter name "${name}" may hold only letters, digits and _`)
  }
  // A `__proto__` key would set the prototype of the params object instead of a property.
  if (name === '__proto__') throw invalid(template, 'a parameter may not be named __proto__')
  return name
}

/**
 * Parses `template`. With `ignoreTrailingSlash`, a trailing slash is dropped; otherwise it
 * is kept as a final empty static segment, so `/a/` and `/a` are different routes.
 */
export function parseTemplate(template: string, ignoreTrailingSlash: boolean): ParsedTemplate {
  if (typeof template !== 'string') throw invalid(String(template), 'a template must be a string')
  if (template.charCodeAt(0) !== 47 /* / */) throw invalid(template, 'a template must start with "/"')
  if (template.length > 8192) throw invalid(template, 'a template may be at most 8192 characters long')
  const segments: TemplateSegment[] = []
  const paramNames: string[] = []
  if (template === '/') return { segments, paramNames }
  const raw = template.slice(1).split('/')
  if (ignoreTrailingSlash && raw.length > 1 && raw[raw.length - 1] === '') raw.pop()
  for (let i = 0; i < raw.length; i++) {
    const text = raw[i]!
    const last = i === raw.length - 1
    if (text.length === 0) {
      if (!last) throw invalid(template, 'a template may not hold an empty segment ("//")')
      segments.push({ kind: 'static', text: '' })
      continue
    }
    if (text.charCodeAt(0) === 123 /* { */) {
      if (text.charCodeAt(text.length - 1) !== 125 /* } */)
        throw invalid(template, `segment "${text}" opens "{" without closing it`)
      let inner = text.slice(1, -1)
      let kind: 'param' | 'rest' = 'param'
      if (inner.startsWith('...')) {
        kind = 'rest'
        inner = inner.slice(3)
        if (!last) throw invalid(template, `the rest parameter "${inner}" must be the last segment`)
      }
      const name = parseName(template, inner)
      if (paramNames.includes(name)) throw invalid(template, `parameter "${name}" appears twice`)
      paramNames.push(name)
      segments.push({ kind, name })
      continue
    }
    if (text.includes('{') || text.includes('}')) {
      throw invalid(
        template,
        `segment "${text}" mixes text and a parameter; a parameter takes a whole segment`,
      )
    }
    if (text.includes('?') || text.includes('#'))
      throw invalid(template, `segment "${text}" holds "?" or "#"`)
    let decoded = text
    if (text.includes('%')) {
      try {
        decoded = decodeURIComponent(text)
      } catch (cause) {
        throw new RouterError(
          'X_ERR_ROUTER_INVALID_TEMPLATE',
          `invalid path template ${JSON.stringify(template)}: bad percent-escape in "${text}"`,
          {
            template,
            cause,
          },
        )
      }
      if (decoded.includes('/')) throw invalid(template, `segment "${text}" decodes to a "/"`)
    }
    segments.push({ kind: 'static', text: decoded })
  }
  return { segments, paramNames }
}
