// A real test PKI (openssl CLI) for @x/tls and @x/http tests: root → intermediate → leaves
// (good, revoked, expired, wrong host, client, SNI names, OCSP signer), a CRL, and an
// `openssl ocsp` responder on a loopback port. EC P-256 keys; make one per test file.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A certificate and its key, as PEM text, plus the files they live in. */
export interface Issued {
  readonly cert: string
  readonly key: string
  readonly certFile: string
  readonly keyFile: string
  /** The leaf followed by the intermediate, as a server sends it. */
  readonly chain: string
  readonly serial: string
}

export interface Pki {
  readonly dir: string
  readonly ocspPort: number
  readonly ocspUrl: string
  readonly root: Issued
  readonly intermediate: Issued
  /** Delegated OCSP signer (id-kp-OCSPSigning), issued by the intermediate. */
  readonly ocspSigner: Issued
  /** localhost / 127.0.0.1, AIA points at the responder. */
  readonly server: Issued
  readonly revoked: Issued
  readonly expired: Issued
  readonly wrongHost: Issued
  /** localhost, but without an AIA extension. */
  readonly noAia: Issued
  readonly client: Issued
  readonly sniA: Issued
  readonly sniWildcard: Issued
  /** A CA nobody trusts, and a localhost certificate it issued. */
  readonly rogueRoot: Issued
  readonly rogueServer: Issued
  /** The intermediate's CRL (lists `revoked`), PEM and DER. */
  readonly crlPem: string
  readonly crlDer: Buffer
  readonly crlFile: string
  /** The root's CRL (empty): covers the intermediate. */
  readonly rootCrlPem: string
  /** Root + intermediate, PEM. */
  readonly caBundle: string
  /** Starts `openssl ocsp` on `ocspPort`; resolves once it answers. */
  startResponder(options?: { nextUpdateMinutes?: number; signer?: 'delegated' | 'ca' }): Promise<Responder>
  dispose(): void
}

export interface Responder {
  readonly url: string
  stop(): Promise<void>
}

function openssl(args: string[], cwd: string): string {
  return execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] }).toString('utf8')
}

/** Binds 127.0.0.1:0, reads the port, frees it (openssl ocsp cannot report a port it picked). */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

const CA_CONFIG = (dir: string, days: number) => `
[ca]
default_ca = ca_default
[ca_default]
dir = ${dir}
database = ${dir}/index.txt
new_certs_dir = ${dir}/newcerts
serial = ${dir}/serial
crlnumber = ${dir}/crlnumber
default_md = sha256
default_days = ${days}
default_crl_days = 7
policy = policy_any
unique_subject = no
copy_extensions = none
email_in_dn = no
[policy_any]
commonName = supplied
organizationName = optional
`

class CaDir {
  readonly config: string
  constructor(
    readonly dir: string,
    readonly cert: string,
    readonly key: string,
    private readonly cwd: string,
  ) {
    mkdirSync(join(dir, 'newcerts'), { recursive: true })
    writeFileSync(join(dir, 'index.txt'), '')
    writeFileSync(join(dir, 'serial'), '1000\n')
    writeFileSync(join(dir, 'crlnumber'), '01\n')
    this.config = join(dir, 'ca.cnf')
    writeFileSync(this.config, CA_CONFIG(dir, 30))
  }

  issue(name: string, subject: string, ext: string, dates?: { start: string; end: string }): Issued {
    const keyFile = join(this.cwd, `${name}.key`)
    const csr = join(this.cwd, `${name}.csr`)
    const certFile = join(this.cwd, `${name}.crt`)
    const extFile = join(this.cwd, `${name}.ext`)
    writeFileSync(extFile, `[v3]\n${ext}\n`)
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyFile], this.cwd)
    openssl(['req', '-new', '-key', keyFile, '-subj', subject, '-out', csr], this.cwd)
    const args = ['ca', '-batch', '-notext', '-config', this.config, '-cert', this.cert, '-keyfile', this.key]
    if (dates) args.push('-startdate', dates.start, '-enddate', dates.end)
    args.push('-extfile', extFile, '-extensions', 'v3', '-in', csr, '-out', certFile)
    openssl(args, this.cwd)
    const cert = readFileSync(certFile, 'utf8')
    const serial = openssl(['x509', '-in', certFile, '-noout', '-serial'], this.cwd).trim().split('=')[1]!
    return {
      cert,
      key: readFileSync(keyFile, 'utf8'),
      certFile,
      keyFile,
      chain: cert + readFileSync(this.cert, 'utf8'),
      serial,
    }
  }

  revoke(certFile: string): void {
    openssl(
      ['ca', '-config', this.config, '-cert', this.cert, '-keyfile', this.key, '-revoke', certFile],
      this.cwd,
    )
  }

  crl(out: string): string {
    openssl(
      ['ca', '-gencrl', '-config', this.config, '-cert', this.cert, '-keyfile', this.key, '-out', out],
      this.cwd,
    )
    return readFileSync(out, 'utf8')
  }
}

function selfSigned(cwd: string, name: string, subject: string): Issued {
  const keyFile = join(cwd, `${name}.key`)
  const certFile = join(cwd, `${name}.crt`)
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyFile], cwd)
  openssl(
    [
      'req',
      '-x509',
      '-new',
      '-key',
      keyFile,
      '-subj',
      subject,
      '-days',
      '60',
      '-addext',
      'basicConstraints=critical,CA:true',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-out',
      certFile,
    ],
    cwd,
  )
  const cert = readFileSync(certFile, 'utf8')
  return { cert, key: readFileSync(keyFile, 'utf8'), certFile, keyFile, chain: cert, serial: '' }
}

const leafExt = (san: string, aia: string | undefined, eku = 'serverAuth') =>
  [
    'basicConstraints = critical, CA:false',
    'keyUsage = critical, digitalSignature',
    `extendedKeyUsage = ${eku}`,
    san === '' ? '' : `subjectAltName = ${san}`,
    aia === undefined ? '' : `authorityInfoAccess = OCSP;URI:${aia}`,
  ].join('\n')

/** Builds the whole PKI in a fresh temporary directory (about 30 openssl runs). */
export async function createPki(): Promise<Pki> {
  const dir = mkdtempSync(join(tmpdir(), 'x-tls-pki-'))
  const ocspPort = await freePort()
  const ocspUrl = `http://127.0.0.1:${ocspPort}`

  const root = selfSigned(dir, 'root', '/O=x test/CN=x Test Root')
  const rootCa = new CaDir(join(dir, 'root-ca'), root.certFile, root.keyFile, dir)
  const intermediate = rootCa.issue(
    'intermediate',
    '/O=x test/CN=x Test Intermediate',
    'basicConstraints = critical, CA:true, pathlen:0\nkeyUsage = critical, keyCertSign, cRLSign\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid',
  )
  const intCa = new CaDir(join(dir, 'int-ca'), intermediate.certFile, intermediate.keyFile, dir)
  const withChain = (issued: Issued): Issued => ({ ...issued, chain: issued.cert + intermediate.cert })

  const localhost = 'DNS:localhost, IP:127.0.0.1'
  const ocspSigner = withChain(
    intCa.issue(
      'ocsp-signer',
      '/CN=x Test OCSP Signer',
      'basicConstraints = critical, CA:false\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = OCSPSigning',
    ),
  )
  const server = withChain(intCa.issue('server', '/CN=localhost', leafExt(localhost, ocspUrl)))
  const revoked = withChain(intCa.issue('revoked', '/CN=localhost revoked', leafExt(localhost, ocspUrl)))
  const expired = withChain(
    intCa.issue('expired', '/CN=localhost expired', leafExt(localhost, ocspUrl), {
      start: '20200101000000Z',
      end: '20210101000000Z',
    }),
  )
  const wrongHost = withChain(
    intCa.issue('wrong-host', '/CN=wrong.example', leafExt('DNS:wrong.example', ocspUrl)),
  )
  const noAia = withChain(intCa.issue('no-aia', '/CN=localhost no aia', leafExt(localhost, undefined)))
  const client = withChain(
    intCa.issue('client', '/O=x test/CN=client one', leafExt('', ocspUrl, 'clientAuth')),
  )
  const sniA = withChain(intCa.issue('sni-a', '/CN=a.example.test', leafExt('DNS:a.example.test', ocspUrl)))
  const sniWildcard = withChain(
    intCa.issue('sni-wild', '/CN=*.wild.example.test', leafExt('DNS:*.wild.example.test', ocspUrl)),
  )
  intCa.revoke(revoked.certFile)
  const crlFile = join(dir, 'int.crl.pem')
  const crlPem = intCa.crl(crlFile)
  const crlDer = execFileSync('openssl', ['crl', '-in', crlFile, '-outform', 'DER'], { cwd: dir })
  const rootCrlPem = rootCa.crl(join(dir, 'root.crl.pem'))

  const rogueRoot = selfSigned(dir, 'rogue-root', '/CN=Rogue Root')
  const rogueCa = new CaDir(join(dir, 'rogue-ca'), rogueRoot.certFile, rogueRoot.keyFile, dir)
  const rogueServer = rogueCa.issue('rogue-server', '/CN=localhost rogue', leafExt(localhost, ocspUrl))

  const responders = new Set<ChildProcess>()

  return {
    dir,
    ocspPort,
    ocspUrl,
    root,
    intermediate,
    ocspSigner,
    server,
    revoked,
    expired,
    wrongHost,
    noAia,
    client,
    sniA,
    sniWildcard,
    rogueRoot,
    rogueServer,
    crlPem,
    crlDer,
    crlFile,
    rootCrlPem,
    caBundle: root.cert + intermediate.cert,
    startResponder(options = {}) {
      const signer = options.signer === 'ca' ? intermediate : ocspSigner
      const child = spawn(
        'openssl',
        [
          'ocsp',
          '-index',
          join(intCa.dir, 'index.txt'),
          '-port',
          String(ocspPort),
          '-rsigner',
          signer.certFile,
          '-rkey',
          signer.keyFile,
          '-CA',
          intermediate.certFile,
          '-nmin',
          String(options.nextUpdateMinutes ?? 60),
          '-ignore_err',
        ],
        { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
      )
      responders.add(child)
      return waitForResponder(child).then(
        () => ({
          url: ocspUrl,
          stop: () => stopProcess(child).then(() => void responders.delete(child)),
        }),
        async (error: unknown) => {
          await stopProcess(child)
          responders.delete(child)
          throw error
        },
      )
    },
    dispose() {
      for (const child of responders) child.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/**
 * Resolves when openssl reports it is accepting connections (it prints that line after
 * binding). No TCP probe: an empty connection sends openssl 3.0's -ignore_err loop spinning.
 */
async function waitForResponder(child: ChildProcess): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let stderr = ''
    const onData = (chunk: Buffer) => {
      stderr += chunk.toString('utf8')
      if (stderr.includes('waiting for OCSP client')) {
        child.stderr?.off('data', onData)
        child.stderr?.resume()
        child.off('exit', onExit)
        resolve()
      }
    }
    const onExit = (code: number | null) => reject(new Error(`openssl ocsp exited (${code}): ${stderr}`))
    child.stderr?.on('data', onData)
    child.once('exit', onExit)
  })
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
  })
}
