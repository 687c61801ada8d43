// dino_loss.wgsl — DINO multi-crop cross-entropy (dino main_dino.py DINOLoss), its gradient to the
// student logits, and the center EMA. Student logits s [ncrops·B, K] are crop-major (row v·B + b is
// crop v, sample b); teacher logits t [2B, K] hold global crops 0 and 1.
//   teacher_probs: q[r, k]  = softmax_k((t[r, k] − c[k]) / τt)                       (no gradient)
//   student_rows:  ls[r, k] = z[r, k] − M_r − log S_r,  z = s/τs, M_r = max_k z, S_r = Σ_k e^(z − M_r)
//                  row_loss[v·B + b] = Σ_{iq ∈ {0,1}, iq ≠ v} Σ_k −q[iq·B + b, k] · ls[v·B + b, k]
//   reduce_loss:   loss = Σ_r row_loss[r] / (n_terms · B),  n_terms = 2·ncrops − 2
//   backward:      ds[v·B + b, k] = dloss · (1/(n_terms·B·τs)) · Σ_{iq ≠ v} (e^ls[r, k] − q[iq·B + b, k])
//   update_center: c[k] = m · c[k] + (1 − m) · (Σ_r t[r, k]) / rows        (in place; raw logits)
// Entry points, in order of complexity:
//   update_center  one thread per column k, loops over the teacher rows (coalesced across k)
//   backward       one thread per student element, reads the row stats saved by student_rows
//   reduce_loss    one workgroup, strided sum and tree reduction of the row losses
//   teacher_probs  one workgroup per teacher row: online (max, Σexp) pass, tree merge, write pass
//   student_rows   one workgroup per student row: online (max, Σexp) pass, then the q·ls pass
// The row kernels loop over K in strides of WORKGROUP_SIZE, so any K (1 … 65536 and beyond) works.
// Bindings (group 0): 0 student (read), 1 teacher (read), 2 center (read_write: in place for
// update_center), 3 dloss (read, the upstream scalar gradient), 4 q (read_write), 5 stats
// (read_write, [rows, 2] = (M, log S)), 6 row_loss (read_write), 7 loss (read_write, one f32),
// 8 dstudent (read_write), 9 params (uniform). Each entry point binds only what it references.
override WORKGROUP_SIZE: u32 = 256;

struct Params {
  batch: u32,       // B
  k: u32,           // K
  rows: u32,        // rows of the tensor this dispatch walks (2B teacher or ncrops·B student)
  _pad: u32,
  inv_temp: f32,    // 1/τt (teacher_probs), 1/τs (student_rows, backward)
  alpha: f32,       // 1/(n_terms·B) (reduce_loss), 1/(n_terms·B·τs) (backward), momentum (update_center)
  beta: f32,        // 1 − momentum (update_center)
  _pad2: f32,
}

@group(0) @binding(0) var<storage, read> student: array<f32>;
@group(0) @binding(1) var<storage, read> teacher: array<f32>;
@group(0) @binding(2) var<storage, read_write> center: array<f32>;
@group(0) @binding(3) var<storage, read> dloss: array<f32>;
@group(0) @binding(4) var<storage, read_write> q: array<f32>;
@group(0) @binding(5) var<storage, read_write> stats: array<f32>;
@group(0) @binding(6) var<storage, read_write> row_loss: array<f32>;
@group(0) @binding(7) var<storage, read_write> loss: array<f32>;
@group(0) @binding(8) var<storage, read_write> dstudent: array<f32>;
@group(0) @binding(9) var<uniform> params: Params;

var<workgroup> wg_max: array<f32, WORKGROUP_SIZE>;
var<workgroup> wg_sum: array<f32, WORKGROUP_SIZE>;

const NEG_INF = -3.4028234663852886e38;

// Merges two (max, Σ e^(x − max)) pairs.
fn merge(m1: f32, s1: f32, m2: f32, s2: f32) -> vec2f {
  let m = max(m1, m2);
  return vec2f(m, s1 * exp(m1 - m) + s2 * exp(m2 - m));
}

// Adds one value x to a running (max, Σ e^(x − max)) pair: one exp per element, no branch.
fn accumulate(ms: vec2f, x: f32) -> vec2f {
  let d = x - ms.x;
  let e = exp(-abs(d));
  return select(vec2f(ms.x, ms.y + e), vec2f(x, ms.y * e + 1.0), d > 0.0);
}

// Tree reduction of the per-thread (max, sum) pairs in wg_max/wg_sum; every thread gets the result.
fn reduce_max_sum(lid: u32, m: f32, s: f32) -> vec2f {
  wg_max[lid] = m;
  wg_sum[lid] = s;
  workgroupBarrier();
  for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      let r = merge(wg_max[lid], wg_sum[lid], wg_max[lid + stride], wg_sum[lid + stride]);
      wg_max[lid] = r.x;
      wg_sum[lid] = r.y;
    }
    workgroupBarrier();
  }
  let out = vec2f(wg_max[0], wg_sum[0]);
  workgroupBarrier();
  return out;
}

// Tree sum of one value per thread; every thread gets the result.
fn reduce_sum(lid: u32, v: f32) -> f32 {
  wg_sum[lid] = v;
  workgroupBarrier();
  for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      wg_sum[lid] += wg_sum[lid + stride];
    }
    workgroupBarrier();
  }
  let out = wg_sum[0];
  workgroupBarrier();
  return out;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn update_center(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let col = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (col >= params.k) {
    return;
  }
  var acc = 0.0;
  for (var r = 0u; r < params.rows; r++) {
    acc += teacher[r * params.k + col];
  }
  center[col] = center[col] * params.alpha + (acc / f32(params.rows)) * params.beta;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (i >= params.rows * params.k) {
    return;
  }
  let r = i / params.k;
  let col = i % params.k;
  let v = r / params.batch;
  let b = r % params.batch;
  let p = exp((student[i] * params.inv_temp - stats[2u * r]) - stats[2u * r + 1u]);
  var acc = 0.0;
  for (var iq = 0u; iq < 2u; iq++) {
    if (iq != v) {
      acc += p - q[(iq * params.batch + b) * params.k + col];
    }
  }
  dstudent[i] = dloss[0] * params.alpha * acc;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn reduce_loss(@builtin(local_invocation_id) lid: vec3u) {
  var acc = 0.0;
  for (var r = lid.x; r < params.rows; r += WORKGROUP_SIZE) {
    acc += row_loss[r];
  }
  let total = reduce_sum(lid.x, acc);
  if (lid.x == 0u) {
    loss[0] = total * params.alpha;
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn teacher_probs(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(local_invocation_id) lid: vec3u,
  @builtin(num_workgroups) groups: vec3u,
) {
  let row = wid.x + wid.y * groups.x;
  if (row >= params.rows) {
    return;
  }
  let base = row * params.k;
  var ms = vec2f(NEG_INF, 0.0);
  for (var col = lid.x; col < params.k; col += WORKGROUP_SIZE) {
    ms = accumulate(ms, (teacher[base + col] - center[col]) * params.inv_temp);
  }
  let total = reduce_max_sum(lid.x, ms.x, ms.y);
  let inv_sum = 1.0 / total.y;
  for (var col = lid.x; col < params.k; col += WORKGROUP_SIZE) {
    let x = (teacher[base + col] - center[col]) * params.inv_temp;
    q[base + col] = exp(x - total.x) * inv_sum;
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn student_rows(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(local_invocation_id) lid: vec3u,
  @builtin(num_workgroups) groups: vec3u,
) {
  let row = wid.x + wid.y * groups.x;
  if (row >= params.rows) {
    return;
  }
  let base = row * params.k;
  var ms = vec2f(NEG_INF, 0.0);
  for (var col = lid.x; col < params.k; col += WORKGROUP_SIZE) {
    ms = accumulate(ms, student[base + col] * params.inv_temp);
  }
  let total = reduce_max_sum(lid.x, ms.x, ms.y);
  let log_sum = log(total.y);
  let v = row / params.batch;
  let b = row % params.batch;
  // Global crops (v < 2) meet one teacher view, local crops both.
  let q0 = b * params.k;
  let q1 = (params.batch + b) * params.k;
  let w0 = select(0.0, 1.0, v != 0u);
  let w1 = select(0.0, 1.0, v != 1u);
  var acc = 0.0;
  for (var col = lid.x; col < params.k; col += WORKGROUP_SIZE) {
    let ls = (student[base + col] * params.inv_temp - total.x) - log_sum;
    acc -= (w0 * q[q0 + col] + w1 * q[q1 + col]) * ls;
  }
  let row_total = reduce_sum(lid.x, acc);
  if (lid.x == 0u) {
    row_loss[row] = row_total;
    stats[2u * row] = total.x;
    stats[2u * row + 1u] = log_sum;
  }
}
