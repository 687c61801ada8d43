// cross_entropy.wgsl — softmax cross-entropy of logits x [rows, C] against integer class labels
// (torch.nn.functional.cross_entropy(x, labels); the mean over rows is taken in lib/ops/loss.ts).
//   forward:  m = max_c x,  lse = m + log Σ_c exp(x_c − m),  loss = lse − x[label]
//             a label outside [0, C) gives loss = NaN, so a bad label cannot pass unnoticed
//   backward: dx_c = g · scale · (exp(x_c − lse) − [c == label])
//             g: the upstream gradient of the reduced loss, read from its buffer (no readback);
//             scale: 1/rows for the mean reduction
// Entry points, in order of complexity:
//   backward          one invocation per element (flat index folded over two grid dims)
//   forward_rowwise   one invocation per row, no barriers: best on CPU adapters (llvmpipe runs a
//                     barrier as a coroutine switch) and for few classes
//   forward           one workgroup per row; each invocation keeps a running (max, Σ exp) over its
//                     elements, merged in workgroup memory (as softmax.wgsl)
// Bindings (group 0): 0 x (read), 1 labels (read, i32), 2 dy (read, backward only),
//   3 loss (per-row, forward), 4 lse (written by forward, read by backward), 5 dx (backward),
//   6 params (uniform).
override WORKGROUP_SIZE: u32 = 64;

struct Params {
  rows: u32,
  classes: u32,
  scale: f32,
  nan: f32, // a quiet NaN from the host: WGSL rejects NaN constants
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<i32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;
@group(0) @binding(4) var<storage, read_write> lse: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;
@group(0) @binding(6) var<uniform> params: Params;

// The lowest finite f32: a running max that any real logit replaces, and exp(LOWEST − m) = 0.
const LOWEST: f32 = -3.40282347e38;

var<workgroup> partial: array<vec2f, WORKGROUP_SIZE>;

// Merges two (max, Σ exp(x − max)) pairs.
fn merge(a: vec2f, b: vec2f) -> vec2f {
  let m = max(a.x, b.x);
  return vec2f(m, a.y * exp(a.x - m) + b.y * exp(b.x - m));
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (i >= params.rows * params.classes) {
    return;
  }
  let row = i / params.classes;
  let c = i % params.classes;
  let hit = select(0.0, 1.0, labels[row] == i32(c));
  dx[i] = dy[0] * params.scale * (exp(x[i] - lse[row]) - hit);
}

// Writes lse and the loss of `row` from its (max, Σ exp) pair.
fn finish_row(row: u32, ms: vec2f) {
  let total = ms.x + log(ms.y);
  lse[row] = total;
  let label = labels[row];
  if (label < 0 || u32(label) >= params.classes) {
    loss[row] = params.nan;
  } else {
    loss[row] = total - x[row * params.classes + u32(label)];
  }
}

// Running (max, Σ exp(x − max)) over elements first, first + step, … of the row at base.
fn row_max_sum(base: u32, first: u32, step: u32) -> vec2f {
  var ms = vec2f(LOWEST, 0.0);
  for (var c = first; c < params.classes; c += step) {
    let v = x[base + c];
    if (v > ms.x) {
      ms = vec2f(v, ms.y * exp(ms.x - v) + 1.0);
    } else {
      ms.y += exp(v - ms.x);
    }
  }
  return ms;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn forward_rowwise(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let row = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (row < params.rows) {
    finish_row(row, row_max_sum(row * params.classes, 0u, 1u));
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
  partial[lid.x] = row_max_sum(row * params.classes, lid.x, WORKGROUP_SIZE);
  workgroupBarrier();
  for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride /= 2u) {
    if (lid.x < stride) {
      partial[lid.x] = merge(partial[lid.x], partial[lid.x + stride]);
    }
    workgroupBarrier();
  }
  if (lid.x == 0u) {
    finish_row(row, partial[0]);
  }
}
