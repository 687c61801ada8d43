// matmul.wgsl — batched C = alpha · op(A) · op(B) (+ bias[n]), op = identity or transpose.
//   forward:  C[b, m, n] = alpha · Σ_k A'[b, m, k] · B'[b, k, n] + bias[n]
//             A' = TRANS_A ? Aᵀ (A stored [K, M]) : A ([M, K]);  B' = TRANS_B ? Bᵀ ([N, K]) : B ([K, N])
//   backward (lib/ops/matmul.ts, same kernels): nn: dA = dC·Bᵀ (nt), dB = Aᵀ·dC (tn);
//             tn: dA = B·dCᵀ (nt), dB = A·dC (nn); nt: dA = dC·B (nn), dB = dCᵀ·A (tn).
// Entry points, in order of complexity:
//   forward_naive  one thread per output (the baseline in bench/matmul_bench.ts)
//   forward        each thread a TM×TN register block, no workgroup memory (fastest on lavapipe)
// A batch stride of 0 broadcasts that operand over the batch. Out-of-range loads are clamped to a
// valid index and only the stores are guarded, so the inner loop has no branches.
// Napkin math: 2·M·N·K FLOPs; a TM×TN block reads TM + TN values per TM·TN FMAs.
// Bindings (group 0): 0 a (read), 1 b (read), 2 bias (read), 3 c (read_write), 4 params (uniform).
override TRANS_A: bool = false;
override TRANS_B: bool = false;
override HAS_BIAS: bool = false;
override TILE_X: u32 = 16;
override TILE_Y: u32 = 16;
const TM: u32 = 4u;
const TN: u32 = 4u;

struct Params {
  m: u32,
  n: u32,
  k: u32,
  batch: u32,
  a_batch_stride: u32,
  b_batch_stride: u32,
  c_batch_stride: u32,
  alpha: f32,
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

fn a_index(base: u32, m: u32, k: u32) -> u32 {
  if (TRANS_A) {
    return base + k * params.m + m;
  }
  return base + m * params.k + k;
}

fn b_index(base: u32, k: u32, n: u32) -> u32 {
  if (TRANS_B) {
    return base + n * params.k + k;
  }
  return base + k * params.n + n;
}

fn epilogue(value: f32, n: u32) -> f32 {
  if (HAS_BIAS) {
    return params.alpha * value + bias[n];
  }
  return params.alpha * value;
}

@compute @workgroup_size(TILE_X, TILE_Y)
fn forward_naive(@builtin(global_invocation_id) gid: vec3u) {
  let n = gid.x;
  let m = gid.y;
  let batch = gid.z;
  if (m >= params.m || n >= params.n) {
    return;
  }
  let a_base = batch * params.a_batch_stride;
  let b_base = batch * params.b_batch_stride;
  var acc = 0.0;
  for (var k = 0u; k < params.k; k++) {
    acc += a[a_index(a_base, m, k)] * b[b_index(b_base, k, n)];
  }
  c[batch * params.c_batch_stride + m * params.n + n] = epilogue(acc, n);
}

@compute @workgroup_size(TILE_X, TILE_Y)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let batch = wid.z;
  let a_base = batch * params.a_batch_stride;
  let b_base = batch * params.b_batch_stride;
  // Thread (lid.x, lid.y) owns rows m0 + TILE_Y·i and columns n0 + TILE_X·j: neighbouring
  // threads touch neighbouring columns, which coalesces loads and stores on real GPUs.
  let m0 = wid.y * TILE_Y * TM + lid.y;
  let n0 = wid.x * TILE_X * TN + lid.x;
  var rows: array<u32, TM>;
  var cols: array<u32, TN>;
  for (var i = 0u; i < TM; i++) {
    rows[i] = min(m0 + TILE_Y * i, params.m - 1u);
  }
  for (var j = 0u; j < TN; j++) {
    cols[j] = min(n0 + TILE_X * j, params.n - 1u);
  }
  var acc: array<array<f32, TN>, TM>;
  for (var k = 0u; k < params.k; k++) {
    var av: array<f32, TM>;
    var bv: array<f32, TN>;
    for (var i = 0u; i < TM; i++) {
      av[i] = a[a_index(a_base, rows[i], k)];
    }
    for (var j = 0u; j < TN; j++) {
      bv[j] = b[b_index(b_base, k, cols[j])];
    }
    for (var i = 0u; i < TM; i++) {
      for (var j = 0u; j < TN; j++) {
        acc[i][j] = fma(av[i], bv[j], acc[i][j]);
      }
    }
  }
  let c_base = batch * params.c_batch_stride;
  for (var i = 0u; i < TM; i++) {
    let m = m0 + TILE_Y * i;
    for (var j = 0u; j < TN; j++) {
      let n = n0 + TILE_X * j;
      if (m < params.m && n < params.n) {
        c[c_base + m * params.n + n] = epilogue(acc[i][j], n);
      }
    }
  }
}
