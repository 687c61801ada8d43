// softmax.wgsl — softmax and log-softmax over the last dim of x viewed as [rows, D],
// max-subtracted (torch.softmax / torch.log_softmax with dim=-1). LOG selects the op:
// 0 softmax, 1 log-softmax.
//   forward:  m = max(x),  s = Σ exp(x − m)          (one online pass: m and s together)
//             softmax:      y = exp(x − m) / s
//             log-softmax:  y = (x − m) − log(s)
//   backward: softmax:      dx = y·(dy − Σ dy·y)
//             log-softmax:  dx = dy − exp(y)·Σ dy     (exp(y) is the softmax)
//   Subtracting the max keeps every exp ≤ 1: a +90 logit would overflow exp in f32 (max ~88.7).
// Entry points, in order of complexity (the row_* helpers hold the math both variants share):
//   forward_rowwise, backward_rowwise
//             one invocation per row, no workgroup memory and no barriers: best on CPU adapters
//             (llvmpipe runs barriers as coroutine switches) and for tiny D
//   forward, backward
//             one workgroup per row: each invocation keeps a running (max, Σexp) over its share,
//             then the pairs (or the backward's sums) are merged in workgroup memory
// Bindings (group 0): 0 x (read; the saved output y in backward), 1 dy (read), 2 out (y | dx),
//   3 params (uniform).
override LOG: u32 = 0;
override WORKGROUP_SIZE: u32 = 64;

struct Params {
  rows: u32,
  d: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

// The lowest finite f32: a running max that any real logit replaces, and exp(LOWEST − m) = 0.
const LOWEST: f32 = -3.40282347e38;

var<workgroup> partial: array<vec2f, WORKGROUP_SIZE>;

// Each row_* helper visits elements first, first + step, … < D of the row starting at base:
// (0, 1) for a whole row, (lid, WORKGROUP_SIZE) for one invocation's share.

// (max, Σ exp(x − max)) in one pass: the sum is rescaled whenever the max grows.
fn row_max_sum(base: u32, first: u32, step: u32) -> vec2f {
  var ms = vec2f(LOWEST, 0.0);
  for (var k = first; k < params.d; k += step) {
    let v = x[base + k];
    if (v > ms.x) {
      ms = vec2f(v, ms.y * exp(ms.x - v) + 1.0);
    } else {
      ms.y += exp(v - ms.x);
    }
  }
  return ms;
}

// Merges two (max, Σ exp(x − max)) pairs.
fn merge(a: vec2f, b: vec2f) -> vec2f {
  let m = max(a.x, b.x);
  return vec2f(m, a.y * exp(a.x - m) + b.y * exp(b.x - m));
}

fn row_write_y(base: u32, first: u32, step: u32, ms: vec2f) {
  if (LOG == 1u) {
    let log_s = log(ms.y);
    for (var k = first; k < params.d; k += step) {
      out[base + k] = (x[base + k] - ms.x) - log_s;
    }
  } else {
    let inv = 1.0 / ms.y;
    for (var k = first; k < params.d; k += step) {
      out[base + k] = exp(x[base + k] - ms.x) * inv;
    }
  }
}

// Σ dy (log-softmax) or Σ dy·y (softmax); x holds y here.
fn row_grad_sum(base: u32, first: u32, step: u32) -> f32 {
  var acc = 0.0;
  for (var k = first; k < params.d; k += step) {
    if (LOG == 1u) {
      acc += dy[base + k];
    } else {
      acc += dy[base + k] * x[base + k];
    }
  }
  return acc;
}

fn row_write_dx(base: u32, first: u32, step: u32, total: f32) {
  for (var k = first; k < params.d; k += step) {
    if (LOG == 1u) {
      out[base + k] = dy[base + k] - exp(x[base + k]) * total;
    } else {
      out[base + k] = x[base + k] * (dy[base + k] - total);
    }
  }
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
  row_write_y(base, 0u, 1u, row_max_sum(base, 0u, 1u));
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
  row_write_dx(base, 0u, 1u, row_grad_sum(base, 0u, 1u));
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
  partial[lid.x] = row_max_sum(base, lid.x, WORKGROUP_SIZE);
  workgroupBarrier();
  for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride /= 2u) {
    if (lid.x < stride) {
      partial[lid.x] = merge(partial[lid.x], partial[lid.x + stride]);
    }
    workgroupBarrier();
  }
  row_write_y(base, lid.x, WORKGROUP_SIZE, partial[0]);
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
  partial[lid.x] = vec2f(row_grad_sum(base, lid.x, WORKGROUP_SIZE), 0.0);
  workgroupBarrier();
  for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride /= 2u) {
    if (lid.x < stride) {
      partial[lid.x] += partial[lid.x + stride];
    }
    workgroupBarrier();
  }
  row_write_dx(base, lid.x, WORKGROUP_SIZE, partial[0].x);
}
