// The control socket's wire format: newline-delimited JSON-RPC 2.0.

export const MAX_REQUEST_BYTES = 64 * 1024;

export const ERROR = {
  parse: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internal: -32603,
  forbidden: -32001,
  rateLimited: -32002,
  /** The service refused or closed the connection (too many open, idle); the message says which. */
  tooManyConnections: -32003,
  notFound: -32004,
} as const;

export interface RpcRequest {
  readonly jsonrpc: '2.0';
  readonly id?: string | number | null;
  readonly method: string;
  readonly params?: unknown;
}

export class RpcError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}
