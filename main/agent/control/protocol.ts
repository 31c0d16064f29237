// The control socket's JSON-RPC envelope as the service reads it; the methods, their parameters
// and the error codes are the contract in common/control.ts.

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

/** Who is calling, as the kernel says (SO_PEERCRED). */
export interface Caller {
  readonly pid: number | null;
  readonly uid: number;
  readonly gid: number;
}
