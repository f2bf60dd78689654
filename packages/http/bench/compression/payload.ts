// The body every compression peer serves: a deterministic JSON document of about 100 KiB,
// varied enough that gzip and Brotli work for their ratio (not a run of one repeated record).

function record(i: number) {
  // A small linear congruential generator: the same document on every run and machine.
  const r = (i * 1_103_515_245 + 12_345) % 2_147_483_648
  return {
    id: i,
    sku: `SKU-${(r % 1_000_000).toString(36).toUpperCase()}`,
    name: `Product ${i} ${['alpha', 'beta', 'gamma', 'delta', 'omega'][r % 5]}`,
    price: Math.round((r % 100_000) / 7) / 100,
    stock: r % 997,
    tags: [`t${r % 13}`, `t${r % 7}`],
    active: r % 3 !== 0,
  }
}

function build(): { items: ReturnType<typeof record>[] } {
  const items: ReturnType<typeof record>[] = []
  let i = 0
  while (JSON.stringify({ items }).length < 100 * 1024) items.push(record(i++))
  return { items }
}

/** The document (about 100 KiB as JSON); handlers return it and each peer serialises it per request. */
export const PAYLOAD = build()
export const PAYLOAD_JSON = JSON.stringify(PAYLOAD)
