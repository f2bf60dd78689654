// Log lines captured in memory through a `{ stream }` destination, with a promise for "n lines".
export interface Lines {
  readonly lines: string[]
  readonly stream: { write(chunk: string): void }
  /** Resolves with the lines once at least `n` were written. */
  waitFor(n: number): Promise<string[]>
  /** The lines parsed as JSON. */
  json<T = Record<string, unknown>>(): T[]
}

export function lines(): Lines {
  const out: string[] = []
  const waiters: Array<{ n: number; resolve: (l: string[]) => void }> = []
  let partial = ''
  return {
    lines: out,
    stream: {
      write(chunk: string) {
        partial += chunk
        let nl = partial.indexOf('\n')
        while (nl !== -1) {
          out.push(partial.slice(0, nl))
          partial = partial.slice(nl + 1)
          nl = partial.indexOf('\n')
        }
        for (const w of waiters.slice()) {
          if (out.length >= w.n) {
            waiters.splice(waiters.indexOf(w), 1)
            w.resolve(out)
          }
        }
      },
    },
    waitFor(n) {
      if (out.length >= n) return Promise.resolve(out)
      return new Promise((resolve) => waiters.push({ n, resolve }))
    },
    json<T>() {
      return out.map((l) => JSON.parse(l) as T)
    },
  }
}
