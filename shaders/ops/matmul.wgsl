// matmul.wgsl — batched C = alpha · op(A) · op(B) (+ bias[n]), op = identity or transpose.
//   forward:  C[b, m, n] = alpha · Σ_k A'[b, m, k] · B'[b, k, n] + bias[n]
//             A' = TRANS_A ? Aᵀ (A stored [K, M]) : A ([M, K]);  B' = TRANS_B ? Bᵀ ([N, K]) : B ([K, N])
//   backward (lib/ops/matmul.ts, same kernels): nn: dA = dC·Bᵀ (nt), dB = Aᵀ·dC (tn);
//             tn: dA = B·dCᵀ (nt), dB = A·dC (nn); nt: dA = dC·B (nn), dB = dCᵀ·A (tn).
// Entry points, in order of complexity (lib/ops/matmul.ts picks one per call; `tuneMatmul` in
// lib/ops/matmul_tune.ts times them):
//   forward_naive  one thread per output, scalar loads: the baseline in bench/matmul_bench.ts.
//   forward_block  each thread a BLOCK_SM·4 × BLOCK_SN·4 (12×16) register block read straight from
//                  global memory as 4×4 sub-blocks (mat4x4f, vec4 loads), no workgroup memory;
//                  BLOCK_X × BLOCK_Y threads (8 along the rows × 8, or 6/4 along the columns
//                  so that tiles of 96/64 columns fit N). For lavapipe, where every buffer load
//                  is a loop over the SIMD lanes (~2 ns per lane and float) and workgroup memory
//                  costs as much plus barriers: what counts is loads per FMA, here 1/12 + 1/16.
//                  The `texture` variant (below) runs it on texture copies of A and B.
//   forward_small  one 4×4 block per thread over a flat (batch, row, column) numbering: tiny
//                  batched products (attention scores of a few dozen tokens), which the block
//                  and tiled workgroups would mostly spend on clamped rows and columns.
//   forward_tiled  a TILE_M × TILE_N output tile per workgroup; TILE_K-deep slices of A and B are
//                  staged in workgroup memory (k-major, so every thread reads vec4s), the next
//                  slice is prefetched into registers while the current one is multiplied, and
//                  each thread accumulates an 8×8 block (two 4-row × two 4-column groups, 64 FMAs
//                  per 4 vec4 shared loads). For real GPUs: 64×64×16 (64 threads) and 128×128×8
//                  (256 threads) are the two configurations lib/ops/matmul.ts uses.
// Alignment: VEC_A / VEC_B say the operand's contiguous dim (K or M for A, N or K for B) is a
// multiple of 4, VEC_C that N is: loads and stores then move whole vec4s; otherwise the same index
// math goes through 4 scalar accesses. Out-of-range rows and columns are clamped to a valid index
// (their results are never stored) and k ≥ K reads as 0, so inner loops have no branches.
// A batch stride of 0 broadcasts that operand over the batch (workgroup_id.z is the batch).
// Napkin math: 2·M·N·K FLOPs; a TM×TN register block loads TM + TN values per TM·TN FMAs.
// The `texture` variant (for CPU adapters) takes the vec4 loads of A and B from read-only storage
// textures holding a flat copy of each buffer (lib/gpu/flat_texture.ts): Mesa 22.3's lavapipe loads
// a storage texel for all 8 SIMD lanes at once, where a storage-buffer load loops over the lanes.
// Bindings (group 0): 0 a (read), 1 b (read), 2 bias (read), 3 c (read_write), 4 a_tex, 5 b_tex
// (read-only rgba32float storage textures, used by the `texture` variant only), 6 params (uniform).
// a, b and c are declared twice, as f32 (forward_naive) and vec4f (the others): WGSL allows it
// because no entry point uses both.
override TRANS_A: bool = false;
override TRANS_B: bool = false;
override HAS_BIAS: bool = false;
override VEC_A: bool = false;
override VEC_B: bool = false;
override VEC_C: bool = false;
override NAIVE_X: u32 = 16u;
override NAIVE_Y: u32 = 16u;
override BLOCK_X: u32 = 8u; // threads along the rows
override BLOCK_Y: u32 = 8u; // threads along the columns
override SMALL_X: u32 = 64u;
const BLOCK_SM: u32 = 3u;
const BLOCK_SN: u32 = 4u;
override TILE_M: u32 = 64u;
override TILE_N: u32 = 64u;
override TILE_K: u32 = 16u;
override TILED_X: u32 = TILE_N / 8u;
override TILED_Y: u32 = TILE_M / 8u;

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
@group(0) @binding(4) var a_tex: texture_storage_2d<rgba32float, read>;
@group(0) @binding(5) var b_tex: texture_storage_2d<rgba32float, read>;
@group(0) @binding(6) var<uniform> params: Params;
@group(0) @binding(0) var<storage, read> a4: array<vec4f>;
@group(0) @binding(1) var<storage, read> b4: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> c4: array<vec4f>;

// ---- forward_naive ----------------------------------------------------------------------------

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

@compute @workgroup_size(NAIVE_X, NAIVE_Y)
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

// ---- shared by forward_block, forward_small and forward_tiled -----------------------------------

// Operand loads: the vec4 at float offset 4·j of a, b (the vec4 paths) and the scalar element i
// (operands whose contiguous dim is not a multiple of 4). The `texture` variant's source
// (lib/ops/matmul.ts) swaps each statement marked `// texture:` for the one after the mark, so a
// pipeline never holds the path it does not take: behind an override both reach the driver, and
// lavapipe's compile times doubled. Scalar loads stay on the buffers: as texel loads they made its
// compiles ten times slower.
fn a_vec(j: u32) -> vec4f {
  return a4[j]; // texture: return a_texel(j);
}

fn b_vec(j: u32) -> vec4f {
  return b4[j]; // texture: return b_texel(j);
}

fn a_at(i: u32) -> f32 {
  return a4[i >> 2u][i & 3u];
}

fn b_at(i: u32) -> f32 {
  return b4[i >> 2u][i & 3u];
}

// Texels per row of the flat textures (FLAT_TEXTURE_WIDTH in lib/gpu/flat_texture.ts).
const TEXTURE_WIDTH: u32 = 1024u;

// Texel j of A's and B's flat textures: floats 4j..4j+3 of the buffer each copies. Two functions,
// not one taking the texture: naga's GLSL output rejects storage textures as parameters.
fn a_texel(j: u32) -> vec4f {
  return textureLoad(a_tex, vec2u(j % TEXTURE_WIDTH, j / TEXTURE_WIDTH));
}

fn b_texel(j: u32) -> vec4f {
  return textureLoad(b_tex, vec2u(j % TEXTURE_WIDTH, j / TEXTURE_WIDTH));
}

// 4 values of A' starting at (m, k) along k (4 rows m..m+3 at k when TRANS_A: along m), read from
// the stored layout's contiguous run: A'[m, k..k+3] (A stored [M, K]) or A'[m..m+3, k] (A stored
// [K, M]). `m` is already clamped; lanes with k + p ≥ K read 0.
fn a_run(base: u32, m: u32, k: u32) -> vec4f {
  if (TRANS_A) {
    let i = base + k * params.m + m;
    if (VEC_A) {
      return select(vec4f(), a_vec(i >> 2u), k < params.k);
    }
    if (k >= params.k) {
      return vec4f();
    }
    let last = base + k * params.m + params.m - 1u;
    return vec4f(a_at(i), a_at(min(i + 1u, last)), a_at(min(i + 2u, last)),
      a_at(min(i + 3u, last)));
  }
  let i = base + m * params.k + k;
  if (VEC_A) {
    return select(vec4f(), a_vec(i >> 2u), k < params.k);
  }
  let kk = vec4u(k) + vec4u(0u, 1u, 2u, 3u);
  let ok = kk < vec4u(params.k);
  let last = base + m * params.k + params.k - 1u;
  let v = vec4f(a_at(i), a_at(min(i + 1u, last)), a_at(min(i + 2u, last)), a_at(min(i + 3u, last)));
  return select(vec4f(), v, ok);
}

// 4 values of B' starting at (k, n): B'[k, n..n+3] (B stored [K, N]) or B'[k..k+3, n] (B stored
// [N, K]); the mirror of a_run.
fn b_run(base: u32, k: u32, n: u32) -> vec4f {
  if (!TRANS_B) {
    let i = base + k * params.n + n;
    if (VEC_B) {
      return select(vec4f(), b_vec(i >> 2u), k < params.k);
    }
    if (k >= params.k) {
      return vec4f();
    }
    let last = base + k * params.n + params.n - 1u;
    return vec4f(b_at(i), b_at(min(i + 1u, last)), b_at(min(i + 2u, last)),
      b_at(min(i + 3u, last)));
  }
  let i = base + n * params.k + k;
  if (VEC_B) {
    return select(vec4f(), b_vec(i >> 2u), k < params.k);
  }
  let kk = vec4u(k) + vec4u(0u, 1u, 2u, 3u);
  let ok = kk < vec4u(params.k);
  let last = base + n * params.k + params.k - 1u;
  let v = vec4f(b_at(i), b_at(min(i + 1u, last)), b_at(min(i + 2u, last)), b_at(min(i + 3u, last)));
  return select(vec4f(), v, ok);
}

// Clamps a row index so that reads stay inside A. A vec4 run along m (TRANS_A && VEC_A, so
// M % 4 = 0) must start at or before M − 4: a clamped start only happens for groups past M, whose
// results are never stored. Scalar runs clamp each element instead (a_run's `last`).
fn clamp_m(m: u32) -> u32 {
  if (TRANS_A && VEC_A) {
    return min(m, params.m - 4u);
  }
  return min(m, params.m - 1u);
}

fn clamp_n(n: u32) -> u32 {
  if (!TRANS_B && VEC_B) {
    return min(n, params.n - 4u);
  }
  return min(n, params.n - 1u);
}

// Writes rows m..m+3, columns n..n+3 of C from `block` (column i = C[m + i, n..n+3]). Unrolled
// by hand: lavapipe keeps a matrix indexed in a loop in per-lane scratch memory, which cost the
// `texture` variant a fifth of its time.
fn store_block(c_base: u32, m: u32, n: u32, block: mat4x4f) {
  var add = vec4f();
  if (HAS_BIAS) {
    let last = params.n - 1u;
    add = vec4f(bias[min(n, last)], bias[min(n + 1u, last)], bias[min(n + 2u, last)],
      bias[min(n + 3u, last)]);
  }
  store_row(c_base, m, n, params.alpha * block[0] + add);
  store_row(c_base, m + 1u, n, params.alpha * block[1] + add);
  store_row(c_base, m + 2u, n, params.alpha * block[2] + add);
  store_row(c_base, m + 3u, n, params.alpha * block[3] + add);
}

// Writes C[row, n..n+3] = value, the columns inside N, when the row is inside M.
fn store_row(c_base: u32, row: u32, n: u32, value: vec4f) {
  if (row >= params.m) {
    return;
  }
  let at = c_base + row * params.n + n;
  if (VEC_C && n + 3u < params.n) {
    c4[at >> 2u] = value;
    return;
  }
  if (n < params.n) {
    c4[at >> 2u][at & 3u] = value.x;
  }
  if (n + 1u < params.n) {
    c4[(at + 1u) >> 2u][(at + 1u) & 3u] = value.y;
  }
  if (n + 2u < params.n) {
    c4[(at + 2u) >> 2u][(at + 2u) & 3u] = value.z;
  }
  if (n + 3u < params.n) {
    c4[(at + 3u) >> 2u][(at + 3u) & 3u] = value.w;
  }
}

// ---- forward_block ------------------------------------------------------------------------------

// The 4×4 sub-block A'[m..m+3, k..k+3] as the matrix whose column i is A'[m + i, k..k+3].
fn a_block(base: u32, m: u32, k: u32) -> mat4x4f {
  if (TRANS_A) {
    let mc = clamp_m(m);
    return transpose(mat4x4f(a_run(base, mc, k), a_run(base, mc, k + 1u), a_run(base, mc, k + 2u),
      a_run(base, mc, k + 3u)));
  }
  return mat4x4f(a_run(base, clamp_m(m), k), a_run(base, clamp_m(m + 1u), k),
    a_run(base, clamp_m(m + 2u), k), a_run(base, clamp_m(m + 3u), k));
}

// The 4×4 sub-block B'[k..k+3, n..n+3] as the matrix whose column p is B'[k + p, n..n+3].
fn b_block(base: u32, k: u32, n: u32) -> mat4x4f {
  if (TRANS_B) {
    return transpose(mat4x4f(b_run(base, k, clamp_n(n)), b_run(base, k, clamp_n(n + 1u)),
      b_run(base, k, clamp_n(n + 2u)), b_run(base, k, clamp_n(n + 3u))));
  }
  let nc = clamp_n(n);
  return mat4x4f(b_run(base, k, nc), b_run(base, k + 1u, nc), b_run(base, k + 2u, nc),
    b_run(base, k + 3u, nc));
}

@compute @workgroup_size(BLOCK_X, BLOCK_Y)
fn forward_block(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let a_base = wid.z * params.a_batch_stride;
  let b_base = wid.z * params.b_batch_stride;
  // Thread (x, y) owns 4-row groups x + BLOCK_X·i and 4-column groups y + BLOCK_Y·j of the tile.
  // x varies fastest, so lavapipe's 8 SIMD lanes (x = 0..7) share their columns, whichever of
  // 8, 6 or 4 BLOCK_Y is: 1.3× faster than lanes along the columns, which spill over two rows of
  // threads at 6 wide. Written out by hand: lavapipe keeps unrolled sub-blocks in registers but
  // spills arrays indexed in loops.
  let m0 = (wid.y * BLOCK_X * BLOCK_SM + lid.x) * 4u;
  let n0 = (wid.x * BLOCK_Y * BLOCK_SN + lid.y) * 4u;
  let m1 = m0 + BLOCK_X * 4u;
  let m2 = m1 + BLOCK_X * 4u;
  let n1 = n0 + BLOCK_Y * 4u;
  let n2 = n1 + BLOCK_Y * 4u;
  let n3 = n2 + BLOCK_Y * 4u;
  var acc00 = mat4x4f();
  var acc01 = mat4x4f();
  var acc02 = mat4x4f();
  var acc03 = mat4x4f();
  var acc10 = mat4x4f();
  var acc11 = mat4x4f();
  var acc12 = mat4x4f();
  var acc13 = mat4x4f();
  var acc20 = mat4x4f();
  var acc21 = mat4x4f();
  var acc22 = mat4x4f();
  var acc23 = mat4x4f();
  for (var k = 0u; k < params.k; k += 4u) {
    let x0 = a_block(a_base, m0, k);
    let x1 = a_block(a_base, m1, k);
    let x2 = a_block(a_base, m2, k);
    let y0 = b_block(b_base, k, n0);
    let y1 = b_block(b_base, k, n1);
    let y2 = b_block(b_base, k, n2);
    let y3 = b_block(b_base, k, n3);
    // Column i of y·x is Σ_p x[i][p] · y[p] = Σ_p A'[m + i, k + p] · B'[k + p, n..n+3].
    acc00 += y0 * x0;
    acc01 += y1 * x0;
    acc02 += y2 * x0;
    acc03 += y3 * x0;
    acc10 += y0 * x1;
    acc11 += y1 * x1;
    acc12 += y2 * x1;
    acc13 += y3 * x1;
    acc20 += y0 * x2;
    acc21 += y1 * x2;
    acc22 += y2 * x2;
    acc23 += y3 * x2;
  }
  let c_base = wid.z * params.c_batch_stride;
  if (n0 < params.n) {
    store_block(c_base, m0, n0, acc00);
    store_block(c_base, m1, n0, acc10);
    store_block(c_base, m2, n0, acc20);
  }
  if (n1 < params.n) {
    store_block(c_base, m0, n1, acc01);
    store_block(c_base, m1, n1, acc11);
    store_block(c_base, m2, n1, acc21);
  }
  if (n2 < params.n) {
    store_block(c_base, m0, n2, acc02);
    store_block(c_base, m1, n2, acc12);
    store_block(c_base, m2, n2, acc22);
  }
  if (n3 < params.n) {
    store_block(c_base, m0, n3, acc03);
    store_block(c_base, m1, n3, acc13);
    store_block(c_base, m2, n3, acc23);
  }
}

// ---- forward_small ------------------------------------------------------------------------------

// One 4×4 output block per thread, threads numbered across the whole batch: for the many tiny
// products of attention (N×N scores of a few dozen tokens per head), where a block or tile
// workgroup would compute mostly clamped rows and columns.
@compute @workgroup_size(SMALL_X)
fn forward_small(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  let rows = (params.m + 3u) / 4u;
  let cols = (params.n + 3u) / 4u;
  let per_batch = rows * cols;
  let i = (wid.y * groups.x + wid.x) * SMALL_X + lid;
  if (i >= per_batch * params.batch) {
    return;
  }
  let batch = i / per_batch;
  let block = i - batch * per_batch;
  let m = (block / cols) * 4u;
  let n = (block % cols) * 4u;
  let a_base = batch * params.a_batch_stride;
  let b_base = batch * params.b_batch_stride;
  var acc = mat4x4f();
  for (var k = 0u; k < params.k; k += 4u) {
    acc += b_block(b_base, k, n) * a_block(a_base, m, k);
  }
  store_block(batch * params.c_batch_stride, m, n, acc);
}

// ---- forward_tiled ------------------------------------------------------------------------------

// Each thread stages TILE_M·TILE_K/4 / threads vec4s of A (and likewise of B) per slice: 1 for
// 128×128×8 (256 threads), 4 for 64×64×16 (64 threads); a new configuration must stay ≤ 4.
const TILE_LOADS_MAX: u32 = 4u;
// k-major slices: tile_a[k·TILE_M/4 + i] = A'[tile_m + 4i .. +3, k0 + k], likewise tile_b over n.
var<workgroup> tile_a: array<vec4f, TILE_M * TILE_K / 4u>;
var<workgroup> tile_b: array<vec4f, TILE_N * TILE_K / 4u>;

// Slot e of the A slice as (row of the stored run, start of the run): the run is 4 values along
// the stored contiguous dim, read by a_run.
fn tile_a_slot(e: u32, tile_m: u32, k0: u32) -> vec2u {
  if (TRANS_A) {
    return vec2u(tile_m + (e % (TILE_M / 4u)) * 4u, k0 + e / (TILE_M / 4u));
  }
  return vec2u(tile_m + e / (TILE_K / 4u), k0 + (e % (TILE_K / 4u)) * 4u);
}

fn tile_b_slot(e: u32, tile_n: u32, k0: u32) -> vec2u {
  if (!TRANS_B) {
    return vec2u(tile_n + (e % (TILE_N / 4u)) * 4u, k0 + e / (TILE_N / 4u));
  }
  return vec2u(tile_n + e / (TILE_K / 4u), k0 + (e % (TILE_K / 4u)) * 4u);
}

// Stores a run read for slot e into the k-major slice (transposing runs that go along k).
fn put_a(e: u32, run: vec4f) {
  if (TRANS_A) {
    tile_a[e] = run;
    return;
  }
  let m = e / (TILE_K / 4u);
  let k = (e % (TILE_K / 4u)) * 4u;
  for (var p = 0u; p < 4u; p++) {
    tile_a[(k + p) * (TILE_M / 4u) + m / 4u][m % 4u] = run[p];
  }
}

fn put_b(e: u32, run: vec4f) {
  if (!TRANS_B) {
    tile_b[e] = run;
    return;
  }
  let n = e / (TILE_K / 4u);
  let k = (e % (TILE_K / 4u)) * 4u;
  for (var p = 0u; p < 4u; p++) {
    tile_b[(k + p) * (TILE_N / 4u) + n / 4u][n % 4u] = run[p];
  }
}

// out[r] += a[r] · b for r = 0..3: the outer product of a 4-row and a 4-column group.
fn outer(acc: mat4x4f, x: vec4f, y: vec4f) -> mat4x4f {
  return mat4x4f(fma(vec4f(x.x), y, acc[0]), fma(vec4f(x.y), y, acc[1]), fma(vec4f(x.z), y, acc[2]),
    fma(vec4f(x.w), y, acc[3]));
}

@compute @workgroup_size(TILED_X, TILED_Y)
fn forward_tiled(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(local_invocation_id) lid: vec3u,
  @builtin(local_invocation_index) li: u32,
) {
  let a_base = wid.z * params.a_batch_stride;
  let b_base = wid.z * params.b_batch_stride;
  let tile_m = wid.y * TILE_M;
  let tile_n = wid.x * TILE_N;
  let threads = TILED_X * TILED_Y;
  let loads_a = TILE_M * TILE_K / 4u / threads;
  let loads_b = TILE_N * TILE_K / 4u / threads;
  // Thread (x, y) owns rows 4y.. and TILE_M/2 + 4y.., columns 4x.. and TILE_N/2 + 4x..: its
  // shared reads are vec4s that neighbouring threads take from neighbouring addresses.
  var acc00 = mat4x4f();
  var acc01 = mat4x4f();
  var acc10 = mat4x4f();
  var acc11 = mat4x4f();
  var next_a: array<vec4f, TILE_LOADS_MAX>;
  var next_b: array<vec4f, TILE_LOADS_MAX>;
  for (var t = 0u; t < loads_a; t++) {
    let s = tile_a_slot(li + t * threads, tile_m, 0u);
    next_a[t] = a_run(a_base, clamp_m(s.x), s.y);
  }
  for (var t = 0u; t < loads_b; t++) {
    let s = tile_b_slot(li + t * threads, tile_n, 0u);
    next_b[t] = b_run(b_base, s.y, clamp_n(s.x));
  }
  for (var k0 = 0u; k0 < params.k; k0 += TILE_K) {
    workgroupBarrier();
    for (var t = 0u; t < loads_a; t++) {
      put_a(li + t * threads, next_a[t]);
    }
    for (var t = 0u; t < loads_b; t++) {
      put_b(li + t * threads, next_b[t]);
    }
    workgroupBarrier();
    // Prefetch the next slice while this one is multiplied (reads past K return 0).
    let k1 = k0 + TILE_K;
    for (var t = 0u; t < loads_a; t++) {
      let s = tile_a_slot(li + t * threads, tile_m, k1);
      next_a[t] = a_run(a_base, clamp_m(s.x), s.y);
    }
    for (var t = 0u; t < loads_b; t++) {
      let s = tile_b_slot(li + t * threads, tile_n, k1);
      next_b[t] = b_run(b_base, s.y, clamp_n(s.x));
    }
    for (var k = 0u; k < TILE_K; k++) {
      let ra = k * (TILE_M / 4u) + lid.y;
      let rb = k * (TILE_N / 4u) + lid.x;
      let x0 = tile_a[ra];
      let x1 = tile_a[ra + TILE_M / 8u];
      let y0 = tile_b[rb];
      let y1 = tile_b[rb + TILE_N / 8u];
      acc00 = outer(acc00, x0, y0);
      acc01 = outer(acc01, x0, y1);
      acc10 = outer(acc10, x1, y0);
      acc11 = outer(acc11, x1, y1);
    }
  }
  let c_base = wid.z * params.c_batch_stride;
  let m0 = tile_m + lid.y * 4u;
  let m1 = m0 + TILE_M / 2u;
  let n0 = tile_n + lid.x * 4u;
  let n1 = n0 + TILE_N / 2u;
  if (n0 < params.n) {
    store_block(c_base, m0, n0, acc00);
    store_block(c_base, m1, n0, acc10);
  }
  if (n1 < params.n) {
    store_block(c_base, m0, n1, acc01);
    store_block(c_base, m1, n1, acc11);
  }
}
