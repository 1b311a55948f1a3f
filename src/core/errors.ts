// Errors with a stable `code` (shown to users, matched by callers) and the underlying `cause`.

export type LensErrorCode =
  | 'PORT_IN_USE'
  | 'BAD_CONFIG'
  | 'DATA_DIR_UNWRITABLE'
  | 'STORE_CORRUPT'
  | 'STORE_WRITE_FAILED'
  | 'UPSTREAM_UNREACHABLE'
  | 'UPSTREAM_TIMEOUT'
  | 'QUERY_BAD_REQUEST'
  | 'QUERY_AUTH'
  | 'QUERY_RATE_LIMITED'
  | 'QUERY_UNAVAILABLE'
  | 'QUERY_BAD_RESPONSE';

export class LensError extends Error {
  readonly code: LensErrorCode;
  constructor(code: LensErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LensError';
    this.code = code;
  }
}

export function isLensError(e: unknown, code?: LensErrorCode): e is LensError {
  return e instanceof LensError && (code === undefined || e.code === code);
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
