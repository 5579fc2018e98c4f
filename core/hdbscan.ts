/**
 * HDBSCAN (Campello, Moulavi & Sander 2013) as scikit-learn's `sklearn.cluster.HDBSCAN` (1.3+)
 * computes it with `algorithm="brute"`, step for step:
 *  1. core distance of a point = Euclidean distance to its `minSamples`-th nearest neighbour,
 *     the point itself counted (so minSamples = 1 gives 0);
 *  2. mutual reachability d_mr(a,b) = max(core(a), core(b), d(a,b));
 *  3. a minimum spanning tree by Prim's algorithm started at point 0, scanning the points not
 *     yet in the tree in ascending index order and taking the first minimum (sklearn's order, so
 *     ties resolve the same way), then edges stably sorted by weight;
 *  4. the single-linkage hierarchy by union–find, the condensed tree by `minClusterSize`,
 *     stabilities, cluster selection by excess of mass (`eom`) or `leaf`, with
 *     `clusterSelectionEpsilon` and `allowSingleCluster` as sklearn defines them;
 *  5. labels (−1 = noise) and membership probabilities (λ of the point, capped at the cluster's
 *     largest λ, divided by it).
 * Distances are float64 and computed directly (Σ(a−b)²), not by the ‖a‖²+‖b‖²−2a·b expansion,
 * so near-ties are not disturbed by cancellation. Memory: the n×n distance matrix is kept while
 * n ≤ 8000 (512 MB); above, rows are recomputed (O(n) memory, twice the arithmetic).
 * Cluster ids are numbered in the order of the condensed tree's cluster labels, as sklearn does.
 */

export interface HdbscanOptions {
  minClusterSize: number;
  /** Defaults to minClusterSize. */
  minSamples?: number;
  selection?: 'eom' | 'leaf';
  allowSingleCluster?: boolean;
  clusterSelectionEpsilon?: number;
}

export interface HdbscanResult {
  labels: Int32Array;
  probabilities: Float64Array;
  /** Number of clusters (labels 0..n−1). */
  nClusters: number;
  /** Condensed tree rows, for inspection: parent, child, lambda, size. */
  condensed: { parent: Int32Array; child: Int32Array; lambda: Float64Array; size: Int32Array };
}

const MATRIX_LIMIT = 8000;

export function validateTrajectories(points: ArrayLike<number>[], opts: HdbscanOptions): void {
  const n = points.length;
  if (!Number.isInteger(opts.minClusterSize) || opts.minClusterSize < 2) {
    throw new Error(`minClusterSize must be an integer ≥ 2; got ${opts.minClusterSize}`);
  }
  const ms = opts.minSamples ?? opts.minClusterSize;
  if (!Number.isInteger(ms) || ms < 1) throw new Error(`minSamples must be an integer ≥ 1; got ${ms}`);
  if (n < Math.max(opts.minClusterSize, ms)) {
    throw new Error(`HDBSCAN needs at least max(minClusterSize, minSamples) = ${Math.max(opts.minClusterSize, ms)} points; got ${n}`);
  }
  const d = points[0].length;
  if (d === 0) throw new Error('HDBSCAN needs trajectories of length ≥ 1; got length 0');
  points.forEach((p, i) => {
    if (p.length !== d) throw new Error(`trajectory ${i} has length ${p.length}, expected ${d} like trajectory 0`);
    for (let k = 0; k < d; k++) if (!Number.isFinite(p[k])) throw new Error(`trajectory ${i} has a non-finite value ${p[k]} at position ${k}`);
  });
}

function quickselect(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k];
  }
  return a[k];
}

/** Row-wise Euclidean distances, from a cached matrix or recomputed. */
function distanceRows(points: ArrayLike<number>[]): (i: number, out: Float64Array) => Float64Array {
  const n = points.length;
  const d = points[0].length;
  const flat = new Float64Array(n * d);
  points.forEach((p, i) => {
    for (let k = 0; k < d; k++) flat[i * d + k] = p[k];
  });
  const compute = (i: number, out: Float64Array) => {
    const oi = i * d;
    for (let j = 0; j < n; j++) {
      const oj = j * d;
      let s = 0;
      for (let k = 0; k < d; k++) {
        const t = flat[oi + k] - flat[oj + k];
        s += t * t;
      }
      out[j] = Math.sqrt(s);
    }
    return out;
  };
  if (n > MATRIX_LIMIT) return compute;
  const M = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const oi = i * d;
    M[i * n + i] = 0;
    for (let j = i + 1; j < n; j++) {
      const oj = j * d;
      let s = 0;
      for (let k = 0; k < d; k++) {
        const t = flat[oi + k] - flat[oj + k];
        s += t * t;
      }
      const v = Math.sqrt(s);
      M[i * n + j] = v;
      M[j * n + i] = v;
    }
  }
  return (i: number) => M.subarray(i * n, (i + 1) * n);
}

interface Condensed {
  parent: number[];
  child: number[];
  lambda: number[];
  size: number[];
}

export function hdbscan(points: ArrayLike<number>[], opts: HdbscanOptions): HdbscanResult {
  validateTrajectories(points, opts);
  const n = points.length;
  const minSamples = opts.minSamples ?? opts.minClusterSize;
  const row = distanceRows(points);
  const buf = new Float64Array(n);

  // 1. core distances (the point itself is its own first neighbour)
  const core = new Float64Array(n);
  const tmp = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    tmp.set(row(i, buf));
    core[i] = quickselect(tmp, minSamples - 1);
  }

  // 2–3. Prim's MST on mutual reachability, sklearn's scan order
  const remaining: number[] = [];
  for (let j = 1; j < n; j++) remaining.push(j);
  let minReach = new Float64Array(n - 1).fill(Number.POSITIVE_INFINITY);
  let sources = new Int32Array(n - 1);
  let labelsLeft = Int32Array.from(remaining);
  const eFrom = new Int32Array(n - 1);
  const eTo = new Int32Array(n - 1);
  const eW = new Float64Array(n - 1);
  let current = 0;
  for (let step = 0; step < n - 1; step++) {
    const r = row(current, buf);
    const cc = core[current];
    let best = Number.POSITIVE_INFINITY;
    let bestIdx = 0;
    for (let j = 0; j < labelsLeft.length; j++) {
      const node = labelsLeft[j];
      let mr = r[node];
      if (cc > mr) mr = cc;
      if (core[node] > mr) mr = core[node];
      if (mr < minReach[j]) {
        minReach[j] = mr;
        sources[j] = current;
      }
      if (minReach[j] < best) {
        best = minReach[j];
        bestIdx = j;
      }
    }
    const newNode = labelsLeft[bestIdx];
    eFrom[step] = sources[bestIdx];
    eTo[step] = newNode;
    eW[step] = minReach[bestIdx];
    // drop bestIdx, keeping the ascending order
    const keep = labelsLeft.length - 1;
    const nl = new Int32Array(keep);
    const nm = new Float64Array(keep);
    const ns = new Int32Array(keep);
    nl.set(labelsLeft.subarray(0, bestIdx));
    nl.set(labelsLeft.subarray(bestIdx + 1), bestIdx);
    nm.set(minReach.subarray(0, bestIdx));
    nm.set(minReach.subarray(bestIdx + 1), bestIdx);
    ns.set(sources.subarray(0, bestIdx));
    ns.set(sources.subarray(bestIdx + 1), bestIdx);
    labelsLeft = nl;
    minReach = nm;
    sources = ns;
    current = newNode;
  }
  const order = Array.from({ length: n - 1 }, (_, i) => i).sort((a, b) => eW[a] - eW[b] || a - b);

  // 4a. single linkage: rows (left, right, distance, size), new node ids n, n+1, …
  const ufParent = new Int32Array(2 * n - 1);
  const ufSize = new Int32Array(2 * n - 1);
  for (let i = 0; i < 2 * n - 1; i++) {
    ufParent[i] = i;
    ufSize[i] = i < n ? 1 : 0;
  }
  const find = (x: number) => {
    let r = x;
    while (ufParent[r] !== r) r = ufParent[r];
    while (ufParent[x] !== r) {
      const nx = ufParent[x];
      ufParent[x] = r;
      x = nx;
    }
    return r;
  };
  const slLeft = new Int32Array(n - 1);
  const slRight = new Int32Array(n - 1);
  const slDist = new Float64Array(n - 1);
  const slSize = new Int32Array(n - 1);
  order.forEach((e, i) => {
    const a = find(eFrom[e]);
    const b = find(eTo[e]);
    slLeft[i] = a;
    slRight[i] = b;
    slDist[i] = eW[e];
    const s = ufSize[a] + ufSize[b];
    slSize[i] = s;
    const node = n + i;
    ufParent[a] = node;
    ufParent[b] = node;
    ufSize[node] = s;
  });

  // 4b. condensed tree
  const cond = condenseTree(n, slLeft, slRight, slDist, slSize, opts.minClusterSize);
  const { labels, probabilities, nClusters } = selectAndLabel(n, cond, {
    selection: opts.selection ?? 'eom',
    allowSingleCluster: opts.allowSingleCluster ?? false,
    epsilon: opts.clusterSelectionEpsilon ?? 0,
  });
  return {
    labels,
    probabilities,
    nClusters,
    condensed: {
      parent: Int32Array.from(cond.parent),
      child: Int32Array.from(cond.child),
      lambda: Float64Array.from(cond.lambda),
      size: Int32Array.from(cond.size),
    },
  };
}

function condenseTree(n: number, left: Int32Array, right: Int32Array, dist: Float64Array, size: Int32Array, minClusterSize: number): Condensed {
  const root = 2 * (n - 1);
  const countOf = (node: number) => (node >= n ? size[node - n] : 1);
  const childrenOf = (node: number): [number, number] => [left[node - n], right[node - n]];
  const bfs = (start: number): number[] => {
    const out: number[] = [];
    let queue = [start];
    while (queue.length) {
      out.push(...queue);
      const next: number[] = [];
      for (const x of queue) if (x >= n) next.push(...childrenOf(x));
      queue = next;
    }
    return out;
  };
  const relabel = new Int32Array(root + 1);
  relabel[root] = n;
  let nextLabel = n + 1;
  const ignore = new Uint8Array(root + 1);
  const out: Condensed = { parent: [], child: [], lambda: [], size: [] };
  const push = (p: number, c: number, l: number, s: number) => {
    out.parent.push(p);
    out.child.push(c);
    out.lambda.push(l);
    out.size.push(s);
  };
  for (const node of bfs(root)) {
    if (ignore[node] || node < n) continue;
    const [l, r] = childrenOf(node);
    const distance = dist[node - n];
    const lambda = distance > 0 ? 1 / distance : Number.POSITIVE_INFINITY;
    const lc = countOf(l);
    const rc = countOf(r);
    if (lc >= minClusterSize && rc >= minClusterSize) {
      relabel[l] = nextLabel++;
      push(relabel[node], relabel[l], lambda, lc);
      relabel[r] = nextLabel++;
      push(relabel[node], relabel[r], lambda, rc);
    } else if (lc < minClusterSize && rc < minClusterSize) {
      for (const side of [l, r])
        for (const sub of bfs(side)) {
          if (sub < n) push(relabel[node], sub, lambda, 1);
          ignore[sub] = 1;
        }
    } else if (lc < minClusterSize) {
      relabel[r] = relabel[node];
      for (const sub of bfs(l)) {
        if (sub < n) push(relabel[node], sub, lambda, 1);
        ignore[sub] = 1;
      }
    } else {
      relabel[l] = relabel[node];
      for (const sub of bfs(r)) {
        if (sub < n) push(relabel[node], sub, lambda, 1);
        ignore[sub] = 1;
      }
    }
  }
  return out;
}

function selectAndLabel(
  n: number,
  tree: Condensed,
  o: { selection: 'eom' | 'leaf'; allowSingleCluster: boolean; epsilon: number },
): { labels: Int32Array; probabilities: Float64Array; nClusters: number } {
  const rows = tree.parent.length;
  const rootCluster = n; // min(parent)
  let maxParent = rootCluster;
  for (const p of tree.parent) maxParent = Math.max(maxParent, p);
  // stability
  const births = new Map<number, number>();
  for (let i = 0; i < rows; i++) births.set(tree.child[i], tree.lambda[i]);
  births.set(rootCluster, 0);
  const stability = new Map<number, number>();
  for (let c = rootCluster; c <= maxParent; c++) stability.set(c, 0);
  for (let i = 0; i < rows; i++) {
    const p = tree.parent[i];
    stability.set(p, (stability.get(p) ?? 0) + (tree.lambda[i] - (births.get(p) ?? 0)) * tree.size[i]);
  }
  // cluster tree (child_size > 1)
  const ctParent: number[] = [];
  const ctChild: number[] = [];
  const ctLambda: number[] = [];
  const ctSize: number[] = [];
  for (let i = 0; i < rows; i++)
    if (tree.size[i] > 1) {
      ctParent.push(tree.parent[i]);
      ctChild.push(tree.child[i]);
      ctLambda.push(tree.lambda[i]);
      ctSize.push(tree.size[i]);
    }
  const childrenOf = (c: number) => ctChild.filter((_, i) => ctParent[i] === c);
  const bfsClusters = (start: number) => {
    const out: number[] = [];
    let q = [start];
    while (q.length) {
      out.push(...q);
      const next: number[] = [];
      for (let i = 0; i < ctParent.length; i++) if (q.includes(ctParent[i])) next.push(ctChild[i]);
      q = next;
    }
    return out;
  };
  let nodeList = [...stability.keys()].sort((a, b) => b - a);
  if (!o.allowSingleCluster) nodeList = nodeList.slice(0, -1);
  const isCluster = new Map<number, boolean>(nodeList.map((c) => [c, true]));
  const lambdaOfChild = (c: number) => ctLambda[ctChild.indexOf(c)];
  const traverseUpwards = (leaf: number): number => {
    const parent = ctParent[ctChild.indexOf(leaf)];
    if (parent === rootCluster) return o.allowSingleCluster ? parent : leaf;
    const parentEps = 1 / lambdaOfChild(parent);
    return parentEps > o.epsilon ? parent : traverseUpwards(parent);
  };
  const epsilonSearch = (leaves: number[]): Set<number> => {
    const selected: number[] = [];
    const processed = new Set<number>();
    for (const leaf of leaves) {
      const eps = 1 / lambdaOfChild(leaf);
      if (eps < o.epsilon) {
        if (!processed.has(leaf)) {
          const up = traverseUpwards(leaf);
          selected.push(up);
          for (const sub of bfsClusters(up)) if (sub !== up) processed.add(sub);
        }
      } else selected.push(leaf);
    }
    return new Set(selected);
  };
  if (o.selection === 'eom') {
    for (const node of nodeList) {
      const sub = childrenOf(node).reduce((s, c) => s + (stability.get(c) ?? 0), 0);
      if (sub > (stability.get(node) ?? 0)) {
        isCluster.set(node, false);
        stability.set(node, sub);
      } else {
        for (const s of bfsClusters(node)) if (s !== node) isCluster.set(s, false);
      }
    }
    if (o.epsilon !== 0 && ctParent.length > 0) {
      const eom = [...isCluster.entries()].filter(([, v]) => v).map(([c]) => c);
      const sel = epsilonSearch(eom);
      for (const c of isCluster.keys()) isCluster.set(c, sel.has(c));
    }
  } else {
    const leavesOf = (c: number): number[] => {
      const ch = childrenOf(c);
      return ch.length === 0 ? [c] : ch.flatMap(leavesOf);
    };
    const leaves = ctParent.length === 0 ? [] : leavesOf(rootCluster);
    if (leaves.length === 0) {
      for (const c of isCluster.keys()) isCluster.set(c, false);
      isCluster.set(rootCluster, true);
    }
    const sel = o.epsilon !== 0 ? epsilonSearch(leaves) : new Set(leaves);
    for (const c of isCluster.keys()) isCluster.set(c, sel.has(c));
  }
  const clusters = [...isCluster.entries()].filter(([, v]) => v).map(([c]) => c).sort((a, b) => a - b);
  const clusterSet = new Set(clusters);
  const labelOf = new Map(clusters.map((c, i) => [c, i]));
  // labelling: union each non-selected child into its parent
  const up = new Map<number, number>();
  for (let i = 0; i < rows; i++) if (!clusterSet.has(tree.child[i])) up.set(tree.child[i], tree.parent[i]);
  const top = (x: number) => {
    let r = x;
    while (up.has(r)) r = up.get(r)!;
    return r;
  };
  const pointLambda = new Float64Array(n);
  for (let i = 0; i < rows; i++) if (tree.child[i] < n) pointLambda[tree.child[i]] = tree.lambda[i];
  let rootMaxLambda = 0;
  for (let i = 0; i < rows; i++) if (tree.parent[i] === rootCluster) rootMaxLambda = Math.max(rootMaxLambda, tree.lambda[i]);
  const labels = new Int32Array(n).fill(-1);
  for (let p = 0; p < n; p++) {
    const c = top(p);
    if (c !== rootCluster) labels[p] = labelOf.get(c) ?? -1;
    else if (clusters.length === 1 && o.allowSingleCluster) {
      const threshold = o.epsilon !== 0 ? 1 / o.epsilon : rootMaxLambda;
      if (pointLambda[p] >= threshold) labels[p] = labelOf.get(c)!;
    }
  }
  // probabilities
  const deaths = new Map<number, number>();
  for (let i = 0; i < rows; i++) deaths.set(tree.parent[i], Math.max(deaths.get(tree.parent[i]) ?? 0, tree.lambda[i]));
  const probabilities = new Float64Array(n);
  for (let i = 0; i < rows; i++) {
    const point = tree.child[i];
    if (point >= rootCluster) continue;
    const lab = labels[point];
    if (lab === -1) continue;
    const maxLambda = deaths.get(clusters[lab]) ?? 0;
    if (maxLambda === 0 || !Number.isFinite(tree.lambda[i])) probabilities[point] = 1;
    else probabilities[point] = Math.min(tree.lambda[i], maxLambda) / maxLambda;
  }
  return { labels, probabilities, nClusters: clusters.length };
}
