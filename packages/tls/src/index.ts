export type {
  CertValidationOptions,
  ClientTlsConfig,
  ClientTlsConnector,
  UndiciConnect,
} from './client.js'
export { createClientTlsConnector } from './client.js'
export type { TlsErrorCode, TlsErrorDetails } from './errors.js'
export { isTlsError, TlsError, toTlsError } from './errors.js'
export type { AlpnProtocol, TlsVersion } from './internal/validate.js'
export type { CertKeyPair, KeyMaterial, PemSource, Pkcs12Bundle } from './material.js'
export type { PeerCertificateInfo, PeerCertificateSource } from './peer.js'
export { peerCertificate } from './peer.js'
export type { CertValidationType, TlsLogger } from './revocation.js'
export type {
  MutualSslOptions,
  OcspStaplingOptions,
  ServerTls,
  ServerTlsConfig,
  SessionResumptionOptions,
} from './server.js'
export { createServerTlsOptions } from './server.js'
export type { StapleStatus } from './stapler.js'
