// The small parsers under the options: PEM block splitting, serial-number hex, host names.
// Property tests compare them with naive references written here.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isTlsError } from '../src/errors.js'
import { checkServerName, checkSniName } from '../src/internal/validate.js'
import { pemBlocks, readSource } from '../src/material.js'
import { serialHex } from '../src/x509.js'

const label = fc.constantFrom('CERTIFICATE', 'X509 CRL', 'PRIVATE KEY', 'EC PARAMETERS')
const body = fc.base64String({ minLength: 4, maxLength: 200 })
const junk = fc.string({ maxLength: 40 }).filter((s) => !s.includes('-----'))

describe('pemBlocks', () => {
  it('finds exactly the blocks with the wanted labels, whatever lies between them', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(label, body, junk), { maxLength: 8 }), junk, (blocks, tail) => {
        const text =
          blocks.map(([l, b, j]) => `${j}-----BEGIN ${l}-----\n${b}\n-----END ${l}-----\n`).join('') + tail
        const expected = blocks
          .filter(([l]) => l === 'CERTIFICATE' || l === 'X509 CRL')
          .map(([l, b]) => `-----BEGIN ${l}-----\n${b}\n-----END ${l}-----`)
        expect(pemBlocks(text, ['CERTIFICATE', 'X509 CRL'])).toEqual(expected)
      }),
    )
  })

  it.each([
    { name: 'a header without a footer', text: '-----BEGIN CERTIFICATE-----\nAAAA\n' },
    { name: 'a header cut inside its label', text: '-----BEGIN CERTIF' },
    {
      name: 'a footer with another label',
      text: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END X509 CRL-----\n',
    },
    { name: 'only a footer', text: '-----END CERTIFICATE-----' },
    { name: 'an empty string', text: '' },
  ])('returns nothing for $name', ({ text }) => {
    expect(pemBlocks(text, ['CERTIFICATE'])).toEqual([])
  })

  it('returns nothing for a megabyte of repeated headers (each scan starts where the last ended)', () => {
    expect(pemBlocks('-----BEGIN '.repeat(100_000), ['CERTIFICATE'])).toEqual([])
  })
})

describe('readSource', () => {
  it.each([
    { name: 'a string that is not PEM', source: 'cert.pem' },
    { name: 'empty bytes', source: new Uint8Array(0) },
    { name: 'an empty path', source: { path: '' } },
    { name: 'a number', source: 42 },
    { name: 'null', source: null },
  ])('refuses $name with X_ERR_TLS_INVALID_OPTION', ({ source }) => {
    try {
      readSource(source as never, 'opt')
      expect.unreachable()
    } catch (error) {
      expect(isTlsError(error, 'X_ERR_TLS_INVALID_OPTION')).toBe(true)
    }
  })
})

describe('serialHex', () => {
  it('equals the big-integer hex of the bytes, upper-case, without leading zeros', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 40 }), (bytes) => {
        const reference = BigInt(`0x${Buffer.from(bytes).toString('hex')}`)
          .toString(16)
          .toUpperCase()
        expect(serialHex(bytes)).toBe(reference)
      }),
    )
  })
})

describe('host names', () => {
  const ldhLabel = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?$/)

  it('accepts every LDH name and returns it lower-cased without a trailing dot', () => {
    fc.assert(
      fc.property(fc.array(ldhLabel, { minLength: 1, maxLength: 5 }), fc.boolean(), (labels, dot) => {
        const name = labels.join('.')
        expect(checkServerName(`${name.toUpperCase()}${dot ? '.' : ''}`, 'n')).toBe(name)
      }),
    )
  })

  it.each([
    { name: 'an empty label', value: 'a..b' },
    { name: 'a leading hyphen', value: '-a.test' },
    { name: 'an underscore', value: 'a_b.test' },
    { name: 'a 64-character label', value: `${'a'.repeat(64)}.test` },
    { name: 'a 300-character name', value: `${'abcdefghi.'.repeat(30)}test` },
    { name: 'a space', value: 'a b' },
    { name: 'a non-ASCII name', value: 'bücher.test' },
    { name: 'an empty string', value: '' },
  ])('refuses $name', ({ value }) => {
    expect(() => checkServerName(value, 'n')).toThrow(
      expect.objectContaining({ code: 'X_ERR_TLS_INVALID_OPTION' }),
    )
  })

  it('allows a wildcard only as the whole first label of an SNI key', () => {
    expect(checkSniName('*.Example.test', 'sni')).toBe('*.example.test')
    for (const bad of ['*', 'a*.example.test', 'a.*.test', '*.*.test']) {
      expect(() => checkSniName(bad, 'sni')).toThrow(
        expect.objectContaining({ code: 'X_ERR_TLS_INVALID_OPTION' }),
      )
    }
  })
})
