// Copy-on-write layers over the effective-permission index's maps and sets: what-if questions run
// the index's own mutation code on a layer that records every write locally and reads through to
// the shared maps underneath, which are never written. A layer is thrown away after the question.
//
// Iteration follows Map semantics exactly (the index's answers list accounts in iteration order):
// a key keeps its place when its value changes, and moves to the end when deleted and set again.

/** The part of Map the index uses; a Map is one, and so is a layer over a Map. */
export interface MapLike<K, V> extends Iterable<[K, V]> {
  readonly size: number;
  get(key: K): V | undefined;
  has(key: K): boolean;
  set(key: K, value: V): unknown;
  delete(key: K): boolean;
  keys(): Iterable<K>;
}

/** The part of Set the index uses. */
export interface SetLike<V> extends Iterable<V> {
  readonly size: number;
  has(value: V): boolean;
  add(value: V): unknown;
  delete(value: V): boolean;
}

/** A map over a base it never writes: sets and deletes stay in the layer. */
export class LayeredMap<K, V> implements MapLike<K, V> {
  // Allocated on the first write: most layers of a what-if are only read.
  private local: Map<K, V> | undefined;
  /** Base keys deleted in the layer (possibly set again since: then they iterate at the end). */
  private dropped: Set<K> | undefined;

  constructor(private readonly base: ReadonlyMap<K, V>) {}

  get size(): number {
    if (this.local === undefined && this.dropped === undefined) return this.base.size;
    let n = this.local?.size ?? 0;
    for (const k of this.base.keys())
      if (this.dropped?.has(k) !== true && this.local?.has(k) !== true) n++;
    return n;
  }

  get(key: K): V | undefined {
    if (this.local?.has(key) === true) return this.local.get(key);
    return this.dropped?.has(key) === true ? undefined : this.base.get(key);
  }

  has(key: K): boolean {
    return this.local?.has(key) === true || (this.dropped?.has(key) !== true && this.base.has(key));
  }

  /** True when the value under `key` was written in this layer (safe to mutate in place). */
  owns(key: K): boolean {
    return this.local?.has(key) === true;
  }

  set(key: K, value: V): this {
    (this.local ??= new Map()).set(key, value);
    return this;
  }

  delete(key: K): boolean {
    const had = this.has(key);
    this.local?.delete(key);
    if (this.base.has(key)) (this.dropped ??= new Set()).add(key);
    return had;
  }

  *entries(): IterableIterator<[K, V]> {
    const local = this.local;
    const dropped = this.dropped;
    if (local === undefined && dropped === undefined) {
      yield* this.base;
      return;
    }
    for (const [k, v] of this.base) {
      if (dropped?.has(k) === true) continue;
      yield [k, local?.has(k) === true ? (local.get(k) as V) : v];
    }
    if (local !== undefined)
      for (const [k, v] of local) if (!this.base.has(k) || dropped?.has(k) === true) yield [k, v];
  }

  *keys(): IterableIterator<K> {
    for (const [k] of this.entries()) yield k;
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }
}

/** A set over a base it never writes. */
export class LayeredSet<V> implements SetLike<V> {
  private added: Set<V> | undefined;
  /** Base values deleted in the layer (possibly added again since: then they iterate at the end). */
  private dropped: Set<V> | undefined;

  constructor(private readonly base: ReadonlySet<V>) {}

  get size(): number {
    return this.base.size - (this.dropped?.size ?? 0) + (this.added?.size ?? 0);
  }
  has(value: V): boolean {
    return (
      this.added?.has(value) === true || (this.dropped?.has(value) !== true && this.base.has(value))
    );
  }
  add(value: V): this {
    if (!this.has(value)) (this.added ??= new Set()).add(value);
    return this;
  }
  delete(value: V): boolean {
    const had = this.has(value);
    this.added?.delete(value);
    if (this.base.has(value)) (this.dropped ??= new Set()).add(value);
    return had;
  }
  *[Symbol.iterator](): IterableIterator<V> {
    for (const v of this.base) if (this.dropped?.has(v) !== true) yield v;
    if (this.added !== undefined) yield* this.added;
  }
}

/** A layer over a map (its writes stay in the layer). */
export function layerOver<K, V>(base: MapLike<K, V>): LayeredMap<K, V> {
  return new LayeredMap(base as unknown as ReadonlyMap<K, V>);
}

/** A layer over a set. */
export function layerOverSet<V>(base: SetLike<V>): LayeredSet<V> {
  return new LayeredSet(base as unknown as ReadonlySet<V>);
}

/** Add `value` to the set under `key`, copying a set the layer does not own before writing it. */
export function addTo<K, V>(map: MapLike<K, Set<V>>, key: K, value: V): void {
  let set = map.get(key);
  if (set === undefined) {
    set = new Set();
    map.set(key, set);
  } else if (map instanceof LayeredMap && !map.owns(key)) {
    if (set.has(value)) return;
    set = new Set(set);
    map.set(key, set);
  }
  set.add(value);
}

/** Remove `value` from the set under `key` (and the key with its last value), copy-on-write likewise. */
export function deleteFrom<K, V>(map: MapLike<K, Set<V>>, key: K, value: V): void {
  let set = map.get(key);
  if (set === undefined || !set.has(value)) return;
  if (set.size === 1) {
    map.delete(key);
    return;
  }
  if (map instanceof LayeredMap && !map.owns(key)) {
    set = new Set(set);
    map.set(key, set);
  }
  set.delete(value);
}
