// layer_norm.wgsl — LayerNorm over the last dim of x viewed as [rows, D]
// (torch.nn.functional.layer_norm).
//   forward:  mean = x₀ + Σ(x − x₀)/D  (x₀ = the row's first element, see row_shifted_sum)
//             var = Σ(x − mean)²/D  (a second pass: no E[x²] − E[x]² cancellation)
//             rstd = 1/sqrt(var + eps),  x̂ = (x − mean)·rstd,  y = x̂·w + b
//   backward: g = dy·w,  dx = rstd·(g − mean(g) − x̂·mean(g·x̂))          (per row)
//             dweight = Σ_rows dy·x̂,  dbias = Σ_rows dy                   (per column)
// Entry points, in order of complexity (the row_* helpers hold the math both variants share):
//   forward_rowwise, backward_rowwise
//                    one invocation per row, no workgroup memory and no barriers: best on CPU
//                    adapters (llvmpipe runs barriers as coroutine switches) and for tiny D
//   forward_rowwise_vec4, backward_rowwise_vec4
//                    the same over vec4s when D % 4 = 0: a quarter of the load loops (lavapipe
//                    loads each lane's value in turn); sums in 4 interleaved partial sums
//   forward, backward
//                    one workgroup per row, tree reductions in workgroup memory: coalesced, and
//                    long rows (D ≥ 1000) are spread over up to 256 invocations
//   backward_params  dweight/dbias partial sums: one invocation per (column, chunk of
//                    chunk_rows rows), coalesced across columns; lib/ops/normalization.ts sums
//                    the chunks
// Bindings (group 0): 0 x, 1 weight, 2 bias, 3 dy (read); 4 out (y | dx | partial dweight),
//   5 out2 (partial dbias), 6 mean, 7 rstd (written by forward, read by the backward passes);
//   8 params (uniform).
override WORKGROUP_SIZE: u32 = 64;

struct Params {
  rows: u32,
  d: u32,
  eps: f32,
  chunk_rows: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> out2: array<f32>;
@group(0) @binding(6) var<storage, read_write> mean: array<f32>;
@group(0) @binding(7) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(8) var<uniform> params: Params;

// The same bindings as vec4s, for the _vec4 entry points (no entry point uses both views).
@group(0) @binding(0) var<storage, read> x4: array<vec4f>;
@group(0) @binding(1) var<storage, read> weight4: array<vec4f>;
@group(0) @binding(2) var<storage, read> bias4: array<vec4f>;
@group(0) @binding(3) var<storage, read> dy4: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> out4: array<vec4f>;

var<workgroup> partial: array<vec2f, WORKGROUP_SIZE>;

// Each row_* helper visits elements first, first + step, … < D of the row starting at base:
// (0, 1) for a whole row, (lid, WORKGROUP_SIZE) for one invocation's share.

// Σ(x − x₀): the shift keeps partial sums small for rows far from 0 (offset 1000, D = 1025:
// y error 1.1e-4 → 2.6e-5; what remains is the f32 rounding of the mean itself).
fn row_shifted_sum(base: u32, first: u32, step: u32, pivot: f32) -> f32 {
  var acc = 0.0;
  for (var k = first; k < params.d; k += step) {
    acc += x[base + k] - pivot;
  }
  return acc;
}

fn row_squares(base: u32, first: u32, step: u32, mu: f32) -> f32 {
  var acc = 0.0;
  for (var k = first; k < params.d; k += step) {
    let c = x[base + k] - mu;
    acc += c * c;
  }
  return acc;
}

fn row_write_y(base: u32, first: u32, step: u32, mu: f32, rs: f32) {
  for (var k = first; k < params.d; k += step) {
    out[base + k] = (x[base + k] - mu) * rs * weight[k] + bias[k];
  }
}

// (Σg, Σg·x̂) with g = dy·w.
fn row_grad_sums(base: u32, first: u32, step: u32, mu: f32, rs: f32) -> vec2f {
  var acc = vec2f(0.0);
  for (var k = first; k < params.d; k += step) {
    let g = dy[base + k] * weight[k];
    acc += vec2f(g, g * (x[base + k] - mu) * rs);
  }
  return acc;
}

// means = (mean(g), mean(g·x̂)).
fn row_write_dx(base: u32, first: u32, step: u32, mu: f32, rs: f32, means: vec2f) {
  for (var k = first; k < params.d; k += step) {
    let g = dy[base + k] * weight[k];
    let xhat = (x[base + k] - mu) * rs;
    out[base + k] = rs * (g - means.x - xhat * means.y);
  }
}

// Sums v over the workgroup; every invocation gets the total. Call from uniform control flow.
fn workgroup_sum(lid: u32, v: vec2f) -> vec2f {
  partial[lid] = v;
  workgroupBarrier();
  for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      partial[lid] += partial[lid + stride];
    }
    workgroupBarrier();
  }
  let total = partial[0];
  // The next call overwrites partial[0]: everyone must have read it first.
  workgroupBarrier();
  return total;
}

fn rowwise_row(gid: vec3u, groups: vec3u) -> u32 {
  return gid.x + gid.y * groups.x * WORKGROUP_SIZE;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn forward_rowwise(
  @builtin(global_invocation_id) gid: vec3u,
  @builtin(num_workgroups) groups: vec3u,
) {
  let row = rowwise_row(gid, groups);
  if (row >= params.rows) {
    return;
  }
  let base = row * params.d;
  let n = f32(params.d);
  let pivot = x[base];
  let mu = pivot + row_shifted_sum(base, 0u, 1u, pivot) / n;
  let rs = inverseSqrt(row_squares(base, 0u, 1u, mu) / n + params.eps);
  row_write_y(base, 0u, 1u, mu, rs);
  mean[row] = mu;
  rstd[row] = rs;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn backward_rowwise(
  @builtin(global_invocation_id) gid: vec3u,
  @builtin(num_workgroups) groups: vec3u,
) {
  let row = rowwise_row(gid, groups);
  if (row >= params.rows) {
    return;
  }
  let base = row * params.d;
  let mu = mean[row];
  let rs = rstd[row];
  let means = row_grad_sums(base, 0u, 1u, mu, rs) / f32(params.d);
  row_write_dx(base, 0u, 1u, mu, rs, means);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn forward_rowwise_vec4(
  @builtin(global_invocation_id) gid: vec3u,
  @builtin(num_workgroups) groups: vec3u,
) {
  let row = rowwise_row(gid, groups);
  if (row >= params.rows) {
    return;
  }
  let d4 = params.d / 4u;
  let base = row * d4;
  let n = f32(params.d);
  let pivot = x4[base].x;
  var shifted = vec4f();
  for (var k = 0u; k < d4; k++) {
    shifted += x4[base + k] - pivot;
  }
  let mu = pivot + dot(shifted, vec4f(1.0)) / n;
  var squares = vec4f();
  for (var k = 0u; k < d4; k++) {
    let c = x4[base + k] - mu;
    squares += c * c;
  }
  let rs = inverseSqrt(dot(squares, vec4f(1.0)) / n + params.eps);
  for (var k = 0u; k < d4; k++) {
    out4[base + k] = (x4[base + k] - mu) * rs * weight4[k] + bias4[k];
  }
  mean[row] = mu;
  rstd[row] = rs;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn backward_rowwise_vec4(
  @builtin(global_invocation_id) gid: vec3u,
  @builtin(num_workgroups) groups: vec3u,
) {
  let row = rowwise_row(gid, groups);
  if (row >= params.rows) {
    return;
  }
  let d4 = params.d / 4u;
  let base = row * d4;
  let mu = mean[row];
  let rs = rstd[row];
  var g_sum = vec4f();
  var gx_sum = vec4f();
  for (var k = 0u; k < d4; k++) {
    let g = dy4[base + k] * weight4[k];
    g_sum += g;
    gx_sum += g * (x4[base + k] - mu) * rs;
  }
  let means = vec2f(dot(g_sum, vec4f(1.0)), dot(gx_sum, vec4f(1.0))) / f32(params.d);
  for (var k = 0u; k < d4; k++) {
    let g = dy4[base + k] * weight4[k];
    let xhat = (x4[base + k] - mu) * rs;
    out4[base + k] = rs * (g - means.x - xhat * means.y);
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn forward(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(local_invocation_id) lid: vec3u,
  @builtin(num_workgroups) groups: vec3u,
) {
  let row = wid.x + wid.y * groups.x;
  if (row >= params.rows) {
    return;
  }
  let base = row * params.d;
  let n = f32(params.d);
  let pivot = x[base];
  let shifted = row_shifted_sum(base, lid.x, WORKGROUP_SIZE, pivot);
  let mu = pivot + workgroup_sum(lid.x, vec2f(shifted, 0.0)).x / n;
  let squares = row_squares(base, lid.x, WORKGROUP_SIZE, mu);
  let rs = inverseSqrt(workgroup_sum(lid.x, vec2f(squares, 0.0)).x / n + params.eps);
  row_write_y(base, lid.x, WORKGROUP_SIZE, mu, rs);
  if (lid.x == 0u) {
    mean[row] = mu;
    rstd[row] = rs;
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn backward(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(local_invocation_id) lid: vec3u,
  @builtin(num_workgroups) groups: vec3u,
) {
  let row = wid.x + wid.y * groups.x;
  if (row >= params.rows) {
    return;
  }
  let base = row * params.d;
  let mu = mean[row];
  let rs = rstd[row];
  let sums = row_grad_sums(base, lid.x, WORKGROUP_SIZE, mu, rs);
  let means = workgroup_sum(lid.x, sums) / f32(params.d);
  row_write_dx(base, lid.x, WORKGROUP_SIZE, mu, rs, means);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn backward_params(@builtin(global_invocation_id) gid: vec3u) {
  let col = gid.x;
  let chunk = gid.y;
  if (col >= params.d) {
    return;
  }
  let first = chunk * params.chunk_rows;
  let last = min(first + params.chunk_rows, params.rows);
  var dw = 0.0;
  var db = 0.0;
  for (var r = first; r < last; r++) {
    let i = r * params.d + col;
    let g = dy[i];
    dw += g * (x[i] - mean[r]) * rstd[r];
    db += g;
  }
  out[chunk * params.d + col] = dw;
  out2[chunk * params.d + col] = db;
}
