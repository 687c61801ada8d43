// topk.wgsl — the k largest values of each row of x [rows, n] and their column indices, sorted
// descending (torch.topk(x, k, dim=-1, largest=True, sorted=True)); among equal values the lower
// index comes first and is the one kept. Used by the k-NN evaluation on [queries, bank] similarities.
//   key(v)   an order-preserving u32 of the f32 bits: v < w ⇔ key(v) < key(w) (sign flip trick)
//   select   radix select, 8 bits per pass, most significant byte first: a 256-bin histogram of
//            the keys that match the bytes fixed so far gives the next byte of T, the key of the
//            k-th largest value, and how many of the keys equal to T to take (`remaining`)
//   gather   the keys > T and the first `remaining` keys == T (by index), written in index order
//            through an exclusive scan of per-invocation counts (contiguous index ranges)
//   sort     bitonic sort of the K_CAP (a power of two ≥ k) gathered pairs, by key descending
//            then index ascending; padding pairs (key 0, index 0xffffffff) sort last
// Work per row: 4 histogram passes + 1 gather pass over n, plus O(K_CAP log² K_CAP) for the sort.
// Entry points: forward (one workgroup per row; row = wid.x + wid.y * num_workgroups.x).
// Bindings (group 0): 0 x (read), 1 values (f32 out), 2 indices (u32 out), 3 params (uniform).
override WORKGROUP_SIZE: u32 = 256;
override K_CAP: u32 = 256;

struct Params {
  rows: u32,
  n: u32,
  k: u32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> values: array<f32>;
@group(0) @binding(2) var<storage, read_write> indices: array<u32>;
@group(0) @binding(3) var<uniform> params: Params;

var<workgroup> hist: array<atomic<u32>, 256>;
var<workgroup> scan: array<u32, WORKGROUP_SIZE>;
var<workgroup> chosen: vec2u; // (prefix of T, remaining) broadcast by invocation 0
var<workgroup> sort_key: array<u32, K_CAP>;
var<workgroup> sort_idx: array<u32, K_CAP>;

fn key(v: f32) -> u32 {
  let b = bitcast<u32>(v);
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

// Exclusive prefix sum of `v` over the workgroup (Hillis–Steele); returns (offset, total).
fn exclusive_scan(v: u32, lid: u32) -> vec2u {
  scan[lid] = v;
  workgroupBarrier();
  for (var stride = 1u; stride < WORKGROUP_SIZE; stride *= 2u) {
    var add = 0u;
    if (lid >= stride) {
      add = scan[lid - stride];
    }
    workgroupBarrier();
    scan[lid] += add;
    workgroupBarrier();
  }
  let inclusive = scan[lid];
  let total = scan[WORKGROUP_SIZE - 1u];
  workgroupBarrier();
  return vec2u(inclusive - v, total);
}

// True when pair a must come before pair b: larger key first, then the lower index.
fn before(ka: u32, ia: u32, kb: u32, ib: u32) -> bool {
  return ka > kb || (ka == kb && ia < ib);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn forward(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(local_invocation_id) lid3: vec3u,
  @builtin(num_workgroups) groups: vec3u,
) {
  let row = wid.x + wid.y * groups.x;
  if (row >= params.rows) {
    return;
  }
  let lid = lid3.x;
  let n = params.n;
  let k = params.k;
  let base = row * n;

  // Radix select of T, one byte per pass.
  var prefix = 0u;
  var fixed = 0u;
  var remaining = k;
  for (var round = 0u; round < 4u; round++) {
    let shift = 24u - 8u * round;
    for (var b = lid; b < 256u; b += WORKGROUP_SIZE) {
      atomicStore(&hist[b], 0u);
    }
    workgroupBarrier();
    for (var i = lid; i < n; i += WORKGROUP_SIZE) {
      let kk = key(x[base + i]);
      if ((kk & fixed) == prefix) {
        atomicAdd(&hist[(kk >> shift) & 255u], 1u);
      }
    }
    workgroupBarrier();
    if (lid == 0u) {
      // Walk the bins from the largest byte down until they hold `remaining` keys.
      var above = 0u;
      var b = 255u;
      loop {
        let c = atomicLoad(&hist[b]);
        if (above + c >= remaining || b == 0u) {
          break;
        }
        above += c;
        b -= 1u;
      }
      chosen = vec2u(prefix | (b << shift), remaining - above);
    }
    workgroupBarrier();
    prefix = chosen.x;
    remaining = chosen.y;
    fixed |= 255u << shift;
    workgroupBarrier();
  }
  let t = prefix;

  // Gather over contiguous index ranges so that ties are taken lowest index first.
  let chunk = (n + WORKGROUP_SIZE - 1u) / WORKGROUP_SIZE;
  let start = min(lid * chunk, n);
  let end = min(start + chunk, n);
  var greater = 0u;
  var ties = 0u;
  for (var i = start; i < end; i++) {
    let kk = key(x[base + i]);
    if (kk > t) {
      greater += 1u;
    } else if (kk == t) {
      ties += 1u;
    }
  }
  var at_greater = exclusive_scan(greater, lid).x;
  var at_tie = exclusive_scan(ties, lid).x;
  let first_tie = k - remaining;
  for (var i = start; i < end; i++) {
    let kk = key(x[base + i]);
    if (kk > t) {
      sort_key[at_greater] = kk;
      sort_idx[at_greater] = i;
      at_greater += 1u;
    } else if (kk == t) {
      if (at_tie < remaining) {
        sort_key[first_tie + at_tie] = kk;
        sort_idx[first_tie + at_tie] = i;
      }
      at_tie += 1u;
    }
  }
  for (var j = k + lid; j < K_CAP; j += WORKGROUP_SIZE) {
    sort_key[j] = 0u;
    sort_idx[j] = 0xffffffffu;
  }
  workgroupBarrier();

  // Bitonic sort, descending: pair (i, i + stride) of a block of `size` runs in the block's
  // direction (descending when i & size == 0).
  for (var size = 2u; size <= K_CAP; size *= 2u) {
    for (var stride = size / 2u; stride > 0u; stride /= 2u) {
      for (var p = lid; p < K_CAP / 2u; p += WORKGROUP_SIZE) {
        let i = 2u * stride * (p / stride) + p % stride;
        let j = i + stride;
        let descending = (i & size) == 0u;
        let ki = sort_key[i];
        let ii = sort_idx[i];
        let kj = sort_key[j];
        let ij = sort_idx[j];
        if (before(kj, ij, ki, ii) == descending) {
          sort_key[i] = kj;
          sort_idx[i] = ij;
          sort_key[j] = ki;
          sort_idx[j] = ii;
        }
      }
      workgroupBarrier();
    }
  }

  for (var j = lid; j < k; j += WORKGROUP_SIZE) {
    let idx = sort_idx[j];
    values[row * k + j] = x[base + idx];
    indices[row * k + j] = idx;
  }
}
