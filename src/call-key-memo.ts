/**
 * Per-call options → their normalized cache key, remembered. Normalizing (split, dedupe, sort) and
 * serializing the parameters is most of the cost of a cached `getToken({ audience, … })`. The memo is a trie
 * over the raw values: each step is one Map lookup of a string the caller already holds (V8 keeps a string's
 * hash in the string), so a repeated call allocates nothing. Values of unexpected types are not memoized:
 * they take the validating path, which rejects them.
 */
export class CallKeyMemo<V> {
  #root = new TrieNode<V>();
  #size = 0;
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  get(audience: unknown, organization: unknown, scope: unknown, resource: unknown): V | undefined {
    return this.#walk(audience, organization, scope, resource, false)?.value;
  }

  set(audience: unknown, organization: unknown, scope: unknown, resource: unknown, value: V): void {
    // Bounded: a caller cycling through endless variants starts the memo over instead of growing it.
    if (this.#size >= this.#max) {
      this.#root = new TrieNode<V>();
      this.#size = 0;
    }
    const node = this.#walk(audience, organization, scope, resource, true);
    if (node === undefined) return;
    if (node.value === undefined) this.#size += 1;
    node.value = value;
  }

  #walk(audience: unknown, organization: unknown, scope: unknown, resource: unknown, create: boolean): TrieNode<V> | undefined {
    let node: TrieNode<V> | undefined = this.#root;
    node = node.text(audience, create);
    node = node?.text(organization, create);
    node = node?.list(scope, create);
    return node?.list(resource, create);
  }
}

const ABSENT = Symbol('absent');
const ONE = Symbol('one string');

class TrieNode<V> {
  readonly #children = new Map<string | number | symbol, TrieNode<V>>();
  value: V | undefined;

  #child(key: string | number | symbol, create: boolean): TrieNode<V> | undefined {
    let next = this.#children.get(key);
    if (next === undefined && create) this.#children.set(key, (next = new TrieNode<V>()));
    return next;
  }

  /** An optional string. */
  text(value: unknown, create: boolean): TrieNode<V> | undefined {
    if (value === undefined) return this.#child(ABSENT, create);
    return typeof value === 'string' ? this.#child(value, create) : undefined;
  }

  /** An optional string or array of strings: marked by kind and length, so no two values share a path. */
  list(value: unknown, create: boolean): TrieNode<V> | undefined {
    if (value === undefined) return this.#child(ABSENT, create);
    if (typeof value === 'string') {
      const single = this.#child(ONE, create);
      return single === undefined ? undefined : single.#child(value, create);
    }
    if (!Array.isArray(value)) return undefined;
    let node = this.#child(value.length, create);
    for (let i = 0; i < value.length && node !== undefined; i++) {
      const item: unknown = value[i];
      if (typeof item !== 'string') return undefined;
      node = node.#child(item, create);
    }
    return node;
  }
}
