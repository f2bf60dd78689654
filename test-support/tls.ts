// A self-signed certificate for `localhost` and 127.0.0.1 (EC P-256, valid until 2126), for
// tests that need TLS: HTTPS and HTTP/2 servers, CONNECT tunnels. Test use only.
import { readFileSync } from 'node:fs'

const dir = new URL('./tls/', import.meta.url)

/** PEM certificate; pass it as `ca` on the client side to trust the test servers. */
export const cert: string = readFileSync(new URL('localhost-cert.pem', dir), 'utf8')
/** PEM private key of {@link cert}. */
export const key: string = readFileSync(new URL('localhost-key.pem', dir), 'utf8')
