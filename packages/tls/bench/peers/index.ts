// Every peer of the handshake benchmark, baseline first.
import { nodeHttps } from './node-https.ts'
import type { HandshakePeer } from './types.ts'
import { xBothStapling, xClientOcsp, xServer, xServerStapling } from './x-tls.ts'

export const peers: readonly HandshakePeer[] = [
  nodeHttps,
  xServer,
  xServerStapling,
  xClientOcsp,
  xBothStapling,
]
