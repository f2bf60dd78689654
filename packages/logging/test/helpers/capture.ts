// In-memory line capture for destinations of the { stream } kind, with a promise for "n lines".
export interface Capture {
  readonly lines: string[]
  readonly stream: { write(chunk: string): void }
  /** Resolves once at least `n` lines were written. */
  waitFor(n: number): Promise<string[]>
}

export function capture(): Capture {
  const lines: string[] = []
  const waiters: Array<{ n: number; resolve: (l: string[]) => void }> = []
  let partial = ''
  return {
    lines,
    stream: {
      write(chunk: string) {
        partial += chunk
        let nl = partial.indexOf('\n')
        while (nl !== -1) {
          lines.push(partial.slice(0, nl))
          partial = partial.slice(nl + 1)
          nl = partial.indexOf('\n')
        }
        for (const w of waiters.slice()) {
          if (lines.length >= w.n) {
            waiters.splice(waiters.indexOf(w), 1)
            w.resolve(lines)
          }
        }
      },
    },
    waitFor(n) {
      if (lines.length >= n) return Promise.resolve(lines)
      return new Promise((resolve) => waiters.push({ n, resolve }))
    },
  }
}
