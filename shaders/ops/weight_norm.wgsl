// weight_norm.wgsl — weight normalisation over the rows of v [O, I] (torch weight_norm, dim=0),
// with NO eps: a zero row gives NaN, as in PyTorch.
//   forward:  n[o] = ‖v[o, :]‖₂ ;  W[o, i] = g[o] · v[o, i] / n[o]
//   backward: dg[o] = Σ_i dW[o, i] · v̂[o, i]   with v̂ = v / n
//             dv[o, i] = g[o] / n[o] · (dW[o, i] − v̂[o, i] · dg[o])
// The backward recomputes n[o] in the same pass as Σ dW·v (both reduce the row it reads anyway),
// so the forward saves nothing.
// Entry points (one thread per row, two passes over it; no workgroup memory, no barriers):
//   forward   Σ v², then the row of W
//   backward  Σ v² and Σ dW·v together, then the row of dv and dg[o]
//   forward_vec4, backward_vec4: the same over vec4s when I % 4 = 0 (a quarter of lavapipe's
//             per-lane load loops; sums in 4 interleaved partial sums)
// Why a thread per row: rows are short (I = 256 in DINO's head) and many (O up to 65536). On
// llvmpipe a workgroup-per-row tree reduction measured 3–5× slower (barriers are costly there);
// on a discrete GPU the strided row reads stay in L1 across the loop.
// Napkin math: forward reads v twice and writes W (12 bytes/element, 8 compulsory), backward reads
// v and dW twice and writes dv (20 bytes/element, 12 compulsory).
// Bindings (group 0): 0 v (read), 1 g (read), 2 dw (read, backward only), 3 w (read_write,
// forward only), 4 dv (read_write), 5 dg (read_write), 6 params (uniform).
override WORKGROUP_SIZE: u32 = 64;

struct Params {
  rows: u32,
  cols: u32,
}

@group(0) @binding(0) var<storage, read> v: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> dw: array<f32>;
@group(0) @binding(3) var<storage, read_write> w: array<f32>;
@group(0) @binding(4) var<storage, read_write> dv: array<f32>;
@group(0) @binding(5) var<storage, read_write> dg: array<f32>;
@group(0) @binding(6) var<uniform> params: Params;
// The same bindings as vec4s, for the _vec4 entry points (no entry point uses both views).
@group(0) @binding(0) var<storage, read> v4: array<vec4f>;
@group(0) @binding(2) var<storage, read> dw4: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> w4: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> dv4: array<vec4f>;

fn row_index(gid: vec3u, groups: vec3u) -> u32 {
  return gid.x + gid.y * groups.x * WORKGROUP_SIZE;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let row = row_index(gid, groups);
  if (row >= params.rows) {
    return;
  }
  let base = row * params.cols;
  var sq = 0.0;
  for (var i = 0u; i < params.cols; i++) {
    let x = v[base + i];
    sq = fma(x, x, sq);
  }
  let factor = g[row] / sqrt(sq);
  for (var i = 0u; i < params.cols; i++) {
    w[base + i] = factor * v[base + i];
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let row = row_index(gid, groups);
  if (row >= params.rows) {
    return;
  }
  let base = row * params.cols;
  var sq = 0.0;
  var dot = 0.0;
  for (var i = 0u; i < params.cols; i++) {
    let x = v[base + i];
    sq = fma(x, x, sq);
    dot = fma(dw[base + i], x, dot);
  }
  let norm = sqrt(sq);
  let grad_g = dot / norm;
  // dv = g/n · (dW − v · (Σ dW·v)/n²)
  let factor = g[row] / norm;
  let coeff = grad_g / norm;
  for (var i = 0u; i < params.cols; i++) {
    dv[base + i] = factor * (dw[base + i] - v[base + i] * coeff);
  }
  dg[row] = grad_g;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn forward_vec4(
  @builtin(global_invocation_id) gid: vec3u,
  @builtin(num_workgroups) groups: vec3u,
) {
  let row = row_index(gid, groups);
  if (row >= params.rows) {
    return;
  }
  let cols4 = params.cols / 4u;
  let base = row * cols4;
  var sq = vec4f();
  for (var i = 0u; i < cols4; i++) {
    let x = v4[base + i];
    sq = fma(x, x, sq);
  }
  let factor = g[row] / sqrt(dot(sq, vec4f(1.0)));
  for (var i = 0u; i < cols4; i++) {
    w4[base + i] = factor * v4[base + i];
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn backward_vec4(
  @builtin(global_invocation_id) gid: vec3u,
  @builtin(num_workgroups) groups: vec3u,
) {
  let row = row_index(gid, groups);
  if (row >= params.rows) {
    return;
  }
  let cols4 = params.cols / 4u;
  let base = row * cols4;
  var sq = vec4f();
  var dw_v = vec4f();
  for (var i = 0u; i < cols4; i++) {
    let x = v4[base + i];
    sq = fma(x, x, sq);
    dw_v = fma(dw4[base + i], x, dw_v);
  }
  let norm = sqrt(dot(sq, vec4f(1.0)));
  let grad_g = dot(dw_v, vec4f(1.0)) / norm;
  let factor = g[row] / norm;
  let coeff = grad_g / norm;
  for (var i = 0u; i < cols4; i++) {
    dv4[base + i] = factor * (dw4[base + i] - v4[base + i] * coeff);
  }
  dg[row] = grad_g;
}
