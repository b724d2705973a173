/**
 * A credential lookup cached in memory, so that a storm of requests (every device reconnecting or
 * resending after a restart) costs one PostgreSQL query per credential at most, and concurrent
 * requests for the same one share that query. A found value is kept for `ttlMs`, a miss for the
 * short `negativeTtlMs` (a newly registered device is answered soon after), at most `maxEntries`
 * of each, the oldest dropped first: an attacker trying unknown names pushes out only other misses.
 * `evict` forgets a key at once, and a lookup that was in flight then is not stored: its answer may
 * predate the change that caused the eviction.
 * Used by the broker for MQTT accounts (broker/credential-cache.ts) and by the OsmAnd listener for
 * device keys (api/device-key-cache.ts).
 */
export interface LoadingCacheOptions<K, V> {
  load: (key: K) => Promise<V | undefined>;
  ttlMs?: number;
  negativeTtlMs?: number;
  maxEntries?: number;
  now?: () => number;
}

interface Entry<V> {
  value: V;
  expires: number;
}

export class LoadingCache<K, V> {
  private readonly found = new Map<K, Entry<V>>();
  private readonly missing = new Map<K, number>();
  private readonly loading = new Map<K, Promise<V | undefined>>();
  private readonly ttlMs: number;
  private readonly negativeTtlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(private readonly o: LoadingCacheOptions<K, V>) {
    this.ttlMs = o.ttlMs ?? 300_000;
    this.negativeTtlMs = o.negativeTtlMs ?? 5_000;
    this.maxEntries = o.maxEntries ?? 1_000_000;
    this.now = o.now ?? Date.now;
  }

  /** entries held (found and missing) */
  get size(): number {
    return this.found.size + this.missing.size;
  }

  /** The cached value, without loading: undefined when not cached (or cached as missing). */
  peek(key: K): V | undefined {
    const hit = this.found.get(key);
    return hit && hit.expires > this.now() ? hit.value : undefined;
  }

  async get(key: K): Promise<V | undefined> {
    const t = this.now();
    const hit = this.found.get(key);
    if (hit && hit.expires > t) return hit.value;
    const miss = this.missing.get(key);
    if (miss !== undefined && miss > t) return undefined;
    const pending = this.loading.get(key);
    if (pending) return pending;
    const p = this.o.load(key).then(
      (value) => {
        // evicted meanwhile: answer this caller, but do not keep what may be stale
        if (this.loading.get(key) !== p) return value;
        this.loading.delete(key);
        this.store(key, value);
        return value;
      },
      (err: unknown) => {
        if (this.loading.get(key) === p) this.loading.delete(key);
        throw err;
      },
    );
    this.loading.set(key, p);
    return p;
  }

  evict(key: K): void {
    this.found.delete(key);
    this.missing.delete(key);
    this.loading.delete(key);
  }

  /** Forgets every found entry whose value passes `test` (a value named by a change, not its key). */
  evictWhere(test: (value: V) => boolean): void {
    for (const [key, entry] of this.found) if (test(entry.value)) this.found.delete(key);
  }

  /** Forgets every cached miss and every lookup in flight (a change whose keys are not known here). */
  evictMisses(): void {
    this.missing.clear();
    this.loading.clear();
  }

  private store(key: K, value: V | undefined): void {
    const t = this.now();
    this.found.delete(key);
    this.missing.delete(key);
    if (value === undefined) {
      if (this.missing.size >= this.maxEntries) this.missing.delete(this.missing.keys().next().value as K);
      this.missing.set(key, t + this.negativeTtlMs);
    } else {
      if (this.found.size >= this.maxEntries) this.found.delete(this.found.keys().next().value as K);
      this.found.set(key, { value, expires: t + this.ttlMs });
    }
  }
}
