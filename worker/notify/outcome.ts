/** The result of one delivery attempt, as the delivery log records it. */
export interface SendOutcome {
  ok: boolean;
  httpStatus?: number;
  latencyMs: number;
  error?: string;
  /** retrying cannot help (an address refused, no SMTP server configured): dead at once */
  final?: boolean;
}
