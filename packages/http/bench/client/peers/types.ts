/** One HTTP client under test: `get()` fetches the URL and reads the whole body as text. */
export interface ClientPeer {
  readonly name: string
  start(url: string, connections: number): Promise<PeerSession>
}

export interface PeerSession {
  get(): Promise<string>
  close(): Promise<void>
}
