// l2_normalize.wgsl — L2 normalisation over the last dim of x viewed as [rows, D]
// (torch.nn.functional.normalize(x, p=2, dim=-1, eps)).
//   forward:  norm = ‖x‖₂ = sqrt(Σx²),  y = x / max(norm, eps)
//   backward: dx = (dy − y·Σ dy·y) / norm        when norm ≥ eps
//             dx = dy / eps                      when norm < eps (the clamp is constant in x)
// Entry points, in order of complexity (the row_* helpers hold the math both variants share):
//   forward_rowwise, backward_rowwise
//             one invocation per row, no workgroup memory and no barriers: best on CPU adapters
//             (llvmpipe runs barriers as coroutine switches) and for tiny D
//   forward, backward
//             one workgroup per row, tree reduction of Σx² (or Σ dy·y) in workgroup memory
// Bindings (group 0): 0 x (read; the saved output y in backward), 1 dy (read), 2 out (y | dx),
//   3 norm (written by forward, read by backward), 4 params (uniform).
override WORKGROUP_SIZE: u32 = 64;

struct Params {
  rows: u32,
  d: u32,
  eps: f32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read_write> norm: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

var<workgroup> partial: array<f32, WORKGROUP_SIZE>;

// Each row_* helper visits elements first, first + step, … < D of the row starting at base:
// (0, 1) for a whole row, (lid, WORKGROUP_SIZE) for one invocation's share.

fn row_squares(base: u32, first: u32, step: u32) -> f32 {
  var acc = 0.0;
  for (var k = first; k < params.d; k += step) {
    let v = x[base + k];
    acc += v * v;
  }
  return acc;
}

fn row_write_y(base: u32, first: u32, step: u32, n: f32) {
  let inv = 1.0 / max(n, params.eps);
  for (var k = first; k < params.d; k += step) {
    out[base + k] = x[base + k] * inv;
  }
}

// Σ dy·y; x holds y here.
fn row_dot(base: u32, first: u32, step: u32) -> f32 {
  var acc = 0.0;
  for (var k = first; k < params.d; k += step) {
    acc += dy[base + k] * x[base + k];
  }
  return acc;
}

fn row_write_dx(base: u32, first: u32, step: u32, n: f32, dot: f32) {
  let r = select(0.0, dot, n >= params.eps);
  let inv = 1.0 / max(n, params.eps);
  for (var k = first; k < params.d; k += step) {
    out[base + k] = (dy[base + k] - x[base + k] * r) * inv;
  }
}

// Sums v over the workgroup; every invocation gets the total. Call from uniform control flow.
fn workgroup_sum(lid: u32, v: f32) -> f32 {
  partial[lid] = v;
  workgroupBarrier();
  for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      partial[lid] += partial[lid + stride];
    }
    workgroupBarrier();
  }
  return partial[0];
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
  let n = sqrt(row_squares(base, 0u, 1u));
  row_write_y(base, 0u, 1u, n);
  norm[row] = n;
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
  row_write_dx(base, 0u, 1u, norm[row], row_dot(base, 0u, 1u));
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
  let n = sqrt(workgroup_sum(lid.x, row_squares(base, lid.x, WORKGROUP_SIZE)));
  row_write_y(base, lid.x, WORKGROUP_SIZE, n);
  if (lid.x == 0u) {
    norm[row] = n;
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
  let dot = workgroup_sum(lid.x, row_dot(base, lid.x, WORKGROUP_SIZE));
  row_write_dx(base, lid.x, WORKGROUP_SIZE, norm[row], dot);
}
