export type { AccessLogAttribute, AccessLogFormat, AccessRecord } from './access-format.js'
export type { AccessLog, AccessLogOptions } from './access-log.js'
export { accessLog } from './access-log.js'
export type {
  AccessLogDestination,
  DestinationStats,
  FileDestination,
  SocketDestination,
  StreamDestination,
  TraceLogDestination,
} from './destination.js'
export type { LoggingErrorCode } from './errors.js'
export { isLoggingError, LoggingError } from './errors.js'
export type { ServerRequest, ServerResponseLike } from './exchange.js'
export type { CreateLoggerOptions } from './logger.js'
export { createLogger, DEFAULT_REDACT_PATHS } from './logger.js'
export type {
  ClientTraceFilter,
  OutboundRequestInfo,
  TraceEntry,
  TraceLog,
  TraceLogOptions,
} from './trace-log.js'
export { traceLog } from './trace-log.js'
