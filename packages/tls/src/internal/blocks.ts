// Turns PEM bundles or single DER blobs into DER buffers, for CRLs and similar inputs.
import { TlsError, type TlsErrorCode } from '../errors.js'
import { type PemSource, pemBlocks, readSource } from '../material.js'

/** DER of every `labels` PEM block in `sources`; a source without PEM text is taken as one DER blob. */
export function loadSourceBlocks(
  sources: PemSource | readonly PemSource[],
  option: string,
  labels: readonly string[],
  code: TlsErrorCode,
): Buffer[] {
  const list: readonly PemSource[] = Array.isArray(sources) ? sources : [sources as PemSource]
  if (list.length === 0) throw new TlsError('X_ERR_TLS_INVALID_OPTION', `${option} is empty`, { option })
  const out: Buffer[] = []
  for (const source of list) {
    const bytes = readSource(source, option)
    if (!bytes.includes('-----BEGIN ', 0, 'latin1')) {
      out.push(bytes)
      continue
    }
    const blocks = pemBlocks(bytes.toString('latin1'), labels)
    if (blocks.length === 0)
      throw new TlsError(code, `${option} holds no ${labels.join(' or ')} PEM block`, { option })
    for (const block of blocks) {
      const body = block.slice(block.indexOf('\n'), block.lastIndexOf('-----END '))
      out.push(Buffer.from(body.replace(/\s+/g, ''), 'base64'))
    }
  }
  return out
}
