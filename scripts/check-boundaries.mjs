// Fails when a leaf package imports another @x package (ARCHITECTURE.md: leaves never
// import one another; only @x/http wires them together).
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('../packages/', import.meta.url).pathname
const wiring = new Set(['http'])
const importRe = /(?:from\s+|import\s*\(\s*|require\s*\(\s*)['"](@x\/[a-z-]+)/g
let failures = 0

function* files(dir) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue
    const full = join(dir, name)
    if (statSync(full).isDirectory()) yield* files(full)
    else if (/\.(c|m)?[jt]s$/.test(name)) yield full
  }
}

for (const pkg of readdirSync(root)) {
  if (wiring.has(pkg)) continue
  const dir = join(root, pkg)
  if (!statSync(dir).isDirectory()) continue
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
  for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
    for (const dep of Object.keys(manifest[field] ?? {})) {
      if (dep.startsWith('@x/')) {
        console.error(
          `${manifest.name}: ${field} names ${dep}; leaf packages never depend on other @x packages`,
        )
        failures++
      }
    }
  }
  for (const sub of ['src', 'test', 'bench']) {
    let st
    try {
      st = statSync(join(dir, sub))
    } catch {
      continue
    }
    if (!st.isDirectory()) continue
    for (const file of files(join(dir, sub))) {
      const text = readFileSync(file, 'utf8')
      for (const m of text.matchAll(importRe)) {
        if (m[1] !== manifest.name) {
          console.error(`${file}: imports ${m[1]}; leaf packages never import other @x packages`)
          failures++
        }
      }
    }
  }
}

if (failures > 0) process.exit(1)
console.log('package boundaries: ok')
