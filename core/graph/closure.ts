// The closure of every identity at once: how many nodes each reaches and in how many hops it
// reaches cluster-admin — what blastRadius answers for one source, for all of them, without a walk
// per source. The graph's compact edges (shared namespace nodes instead of an edge per object) are
// laid out once as integer arrays; strongly connected components share one reach set (where every
// account may create pods somewhere, most of the cluster is one component), computed sinks first as
// bit sets; the hops to cluster-admin are one breadth-first walk backwards from it.
import { CLUSTER_ADMIN, type IdentityGraph } from "./graph.js";

export interface IdentityClosure {
  /** Nodes reached, the source and the walk's shared nodes excluded (as summarize counts them). */
  reached: number;
  /** Hops to cluster-admin (membership is none); undefined when it is not reachable. */
  clusterAdminHops?: number;
}

/** Shared nodes of the walk stand for others: never counted as reached. */
const isShared = (id: string): boolean => id.startsWith("accounts:") || id.startsWith("objects:");

/** The compact graph as integer arrays (CSR): node i's edges are targets[offsets[i]..offsets[i+1]). */
interface Laid {
  ids: string[];
  index: ReadonlyMap<string, number>;
  offsets: Int32Array;
  targets: Int32Array;
  /** 0 for membership (no hop), 1 otherwise. */
  costs: Uint8Array;
}

function layOut(graph: IdentityGraph, sources: readonly string[]): Laid {
  const index = new Map<string, number>();
  const ids: string[] = [];
  const number = (id: string): number => {
    let n = index.get(id);
    if (n === undefined) {
      n = ids.length;
      index.set(id, n);
      ids.push(id);
    }
    return n;
  };
  for (const s of sources) number(s);
  const offsets: number[] = [];
  const targets: number[] = [];
  const costs: number[] = [];
  // Nodes are numbered as they are found, so this visits everything reachable from the sources.
  for (let i = 0; i < ids.length; i++) {
    offsets.push(targets.length);
    const id = ids[i] as string;
    if (id === CLUSTER_ADMIN) continue;
    for (const hop of graph.edgesFrom(id, undefined, true)) {
      targets.push(number(hop.to));
      costs.push(hop.kind === "member-of" ? 0 : 1);
    }
  }
  offsets.push(targets.length);
  return {
    ids,
    index,
    offsets: Int32Array.from(offsets),
    targets: Int32Array.from(targets),
    costs: Uint8Array.from(costs),
  };
}

/** Strongly connected components (Tarjan, iterative), numbered sinks first. */
function components(g: Laid): { of: Int32Array; count: number } {
  const n = g.ids.length;
  const order = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const of = new Int32Array(n).fill(-1);
  const stack: number[] = [];
  const onStack = new Uint8Array(n);
  const call: number[] = []; // node, next edge position
  let counter = 0;
  let count = 0;
  for (let root = 0; root < n; root++) {
    if (order[root] !== -1) continue;
    call.push(root, g.offsets[root] as number);
    order[root] = low[root] = counter++;
    stack.push(root);
    onStack[root] = 1;
    while (call.length > 0) {
      const v = call[call.length - 2] as number;
      const at = call[call.length - 1] as number;
      if (at < (g.offsets[v + 1] as number)) {
        call[call.length - 1] = at + 1;
        const w = g.targets[at] as number;
        if (order[w] === -1) {
          order[w] = low[w] = counter++;
          stack.push(w);
          onStack[w] = 1;
          call.push(w, g.offsets[w] as number);
        } else if (onStack[w] === 1 && (order[w] as number) < (low[v] as number)) {
          low[v] = order[w] as number;
        }
        continue;
      }
      call.length -= 2;
      if (low[v] === order[v]) {
        let w: number;
        do {
          w = stack.pop() as number;
          onStack[w] = 0;
          of[w] = count;
        } while (w !== v);
        count++;
      }
      if (call.length > 0) {
        const parent = call[call.length - 2] as number;
        if ((low[v] as number) < (low[parent] as number)) low[parent] = low[v] as number;
      }
    }
  }
  return { of, count };
}

function popcount(bits: Uint32Array): number {
  let total = 0;
  for (let i = 0; i < bits.length; i++) {
    let x = bits[i] as number;
    x -= (x >>> 1) & 0x55555555;
    x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
    total += (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
  }
  return total;
}

/** Hops from every node to cluster-admin: a 0-1 breadth-first walk over the edges backwards. */
function hopsToAdmin(g: Laid): Int32Array {
  const n = g.ids.length;
  const dist = new Int32Array(n).fill(-1);
  const admin = g.index.get(CLUSTER_ADMIN);
  if (admin === undefined) return dist;
  // Edges backwards, as CSR.
  const inCount = new Int32Array(n + 1);
  for (let e = 0; e < g.targets.length; e++) {
    const at = (g.targets[e] as number) + 1;
    inCount[at] = (inCount[at] as number) + 1;
  }
  for (let i = 0; i < n; i++) inCount[i + 1] = (inCount[i + 1] as number) + (inCount[i] as number);
  const fill = inCount.slice(0, n);
  const sources = new Int32Array(g.targets.length);
  const costs = new Uint8Array(g.targets.length);
  for (let v = 0; v < n; v++) {
    for (let e = g.offsets[v] as number; e < (g.offsets[v + 1] as number); e++) {
      const w = g.targets[e] as number;
      const slot = fill[w] as number;
      fill[w] = slot + 1;
      sources[slot] = v;
      costs[slot] = g.costs[e] as number;
    }
  }
  dist[admin] = 0;
  let level = [admin];
  for (let d = 0; level.length > 0; d++) {
    const next: number[] = [];
    for (let i = 0; i < level.length; i++) {
      const w = level[i] as number;
      if (dist[w] !== d) continue;
      for (let e = inCount[w] as number; e < (inCount[w + 1] as number); e++) {
        const v = sources[e] as number;
        const nd = d + (costs[e] as number);
        if (dist[v] !== -1 && (dist[v] as number) <= nd) continue;
        dist[v] = nd;
        (nd === d ? level : next).push(v);
      }
    }
    level = next;
  }
  return dist;
}

/** The closure of each of `sources` (node ids, as blastRadius takes them). */
export function closureOfAll(
  graph: IdentityGraph,
  sources: readonly string[],
): Map<string, IdentityClosure> {
  const g = layOut(graph, sources);
  const n = g.ids.length;
  const { of, count } = components(g);
  // Counted nodes get a bit each.
  const bit = new Int32Array(n).fill(-1);
  let bits = 0;
  for (let i = 0; i < n; i++) if (!isShared(g.ids[i] as string)) bit[i] = bits++;
  const words = (bits + 31) >>> 5;
  const members: number[][] = Array.from({ length: count }, () => []);
  for (let i = 0; i < n; i++) (members[of[i] as number] as number[]).push(i);
  // A component's reach set lives until every component leading into it has taken it.
  const waiting = new Int32Array(count);
  for (let v = 0; v < n; v++) {
    for (let e = g.offsets[v] as number; e < (g.offsets[v + 1] as number); e++) {
      const d = of[g.targets[e] as number] as number;
      if (of[v] !== d) waiting[d] = (waiting[d] as number) + 1;
    }
  }
  const sets: (Uint32Array | undefined)[] = new Array<Uint32Array | undefined>(count);
  const size = new Int32Array(count);
  // Tarjan numbers components sinks first: every successor's set is ready before it is needed.
  for (let c = 0; c < count; c++) {
    const set = new Uint32Array(words);
    for (const v of members[c] as number[]) {
      const b = bit[v] as number;
      if (b >= 0) set[b >>> 5] = (set[b >>> 5] as number) | (1 << (b & 31));
      for (let e = g.offsets[v] as number; e < (g.offsets[v + 1] as number); e++) {
        const d = of[g.targets[e] as number] as number;
        if (d === c) continue;
        const other = sets[d] as Uint32Array;
        for (let k = 0; k < words; k++) set[k] = (set[k] as number) | (other[k] as number);
        waiting[d] = (waiting[d] as number) - 1;
        if (waiting[d] === 0) sets[d] = undefined;
      }
    }
    size[c] = popcount(set);
    if ((waiting[c] as number) > 0) sets[c] = set;
  }
  const toAdmin = hopsToAdmin(g);
  const out = new Map<string, IdentityClosure>();
  for (const s of sources) {
    const i = g.index.get(s) as number;
    const hops = toAdmin[i] as number;
    out.set(s, {
      reached: (size[of[i] as number] as number) - (bit[i] !== -1 ? 1 : 0),
      ...(hops >= 0 && s !== CLUSTER_ADMIN ? { clusterAdminHops: hops } : {}),
    });
  }
  return out;
}
