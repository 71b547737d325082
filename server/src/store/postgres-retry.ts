/**
 * Transactions retried when PostgreSQL aborts them for a reason that a second try cures: a
 * deadlock between two nodes taking the same rows in different orders (40P01), or a
 * serialization failure (40001). The store's transactions touch nothing but the database, so a
 * rolled-back one can run again from the start; the retries are bounded and jittered so two
 * nodes that collided do not collide again in step.
 */
import { Kysely, TransactionBuilder, type KyselyConfig, type Transaction } from 'kysely';

/** SQLSTATEs of aborts worth another try. */
const RETRYABLE = new Set(['40001', '40P01']);

/** How often and how patiently a transaction is retried. */
export interface RetryPolicy {
  /** Tries in all, the first included (default 5). */
  attempts: number;
  /** Upper bound of the first pause in ms; each later pause may be twice as long (default 5). */
  baseDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = Object.freeze({ attempts: 5, baseDelayMs: 5 });

/** Whether an error is a PostgreSQL abort that a retry may cure. */
export function isRetryable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && RETRYABLE.has(code);
}

/** Runs `attempt` until it succeeds, fails for another reason, or the policy's tries are spent. */
export async function withRetries<T>(policy: RetryPolicy, attempt: () => Promise<T>, random: () => number = Math.random): Promise<T> {
  for (let tried = 1; ; tried++) {
    try {
      return await attempt();
    } catch (error) {
      if (tried >= policy.attempts || !isRetryable(error)) throw error;
      const pause = random() * policy.baseDelayMs * 2 ** (tried - 1);
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}

/** A TransactionBuilder whose `execute` retries the whole callback as `withRetries` says. */
class RetryingTransactionBuilder<DB> extends TransactionBuilder<DB> {
  readonly #inner: TransactionBuilder<DB>;
  readonly #policy: RetryPolicy;

  constructor(inner: TransactionBuilder<DB>, policy: RetryPolicy) {
    // The base class only keeps its props; every call goes to `inner`, which holds the real ones.
    super({} as ConstructorParameters<typeof TransactionBuilder>[0]);
    this.#inner = inner;
    this.#policy = policy;
  }

  override setAccessMode(...args: Parameters<TransactionBuilder<DB>['setAccessMode']>): TransactionBuilder<DB> {
    return new RetryingTransactionBuilder(this.#inner.setAccessMode(...args), this.#policy);
  }

  override setIsolationLevel(...args: Parameters<TransactionBuilder<DB>['setIsolationLevel']>): TransactionBuilder<DB> {
    return new RetryingTransactionBuilder(this.#inner.setIsolationLevel(...args), this.#policy);
  }

  override execute<T>(callback: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
    return withRetries(this.#policy, () => this.#inner.execute(callback));
  }
}

/**
 * A Kysely instance whose `transaction()` retries deadlocks and serialization failures, so every
 * verb of the store (each one transaction) survives them without knowing the dialect.
 */
export class RetryingKysely<DB> extends Kysely<DB> {
  readonly #policy: RetryPolicy;

  constructor(config: KyselyConfig, policy: RetryPolicy = DEFAULT_RETRY) {
    super(config);
    this.#policy = policy;
  }

  override transaction(): TransactionBuilder<DB> {
    return new RetryingTransactionBuilder(super.transaction(), this.#policy);
  }
}
