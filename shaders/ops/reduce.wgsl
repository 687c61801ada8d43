// reduce.wgsl — sums over one axis of x viewed as [outer, n, inner], after an elementwise PRE op.
//   forward: out[o, i] = alpha · Σ_k pre(x[o, k, i])     PRE: 0 x, 1 x², 2 |x|
//   backward of sum/mean is an expand (lib/ops/movement.ts), so no backward entry point here.
// Entry points, in order of complexity:
//   sum_strided  one thread per output, loops over n (coalesced across inner; best when inner ≫ 1)
//   sum_strided_vec4  one thread per 4 adjacent outputs (inner % 4 = 0) and part of n: part p
//                of `parts` sums rows k = p, p + parts, … into out[o, p, i..i+3]; a second pass
//                sums the parts when the outputs alone are too few threads (bias gradients)
//   sum_partials one thread per part of a row (inner = 1): part p of `parts` (params.inner) sums
//                x[row, p], x[row, p + parts], …: one part per row sums rows on CPU adapters,
//                1024 are the first pass over a few long rows; sum_partials_vec4 does the same
//                over vec4s for rows of whole vec4s
//   sum_rows     one workgroup per output row (inner = 1), tree reduction in workgroup memory
// Bindings (group 0): 0 x (read), 1 out (read_write), 2 params (uniform).
override PRE: u32 = 0;
override WORKGROUP_SIZE: u32 = 256;

struct Params {
  outer: u32,
  n: u32,
  inner: u32,
  alpha: f32,
  parts: u32, // sum_strided_vec4: interleaved parts of n, an output axis between outer and inner
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;
// x and out again as vec4s, for the _vec4 entry points (no entry point uses both views).
@group(0) @binding(0) var<storage, read> x4: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> out4: array<vec4f>;

var<workgroup> partial: array<f32, WORKGROUP_SIZE>;

fn pre(v: f32) -> f32 {
  if (PRE == 1u) { return v * v; }
  if (PRE == 2u) { return abs(v); }
  return v;
}

fn pre4(v: vec4f) -> vec4f {
  if (PRE == 1u) { return v * v; }
  if (PRE == 2u) { return abs(v); }
  return v;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn sum_strided(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (i >= params.outer * params.inner) {
    return;
  }
  let o = i / params.inner;
  let j = i % params.inner;
  var acc = 0.0;
  let base = o * params.n * params.inner + j;
  for (var k = 0u; k < params.n; k++) {
    acc += pre(x[base + k * params.inner]);
  }
  out[i] = params.alpha * acc;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn sum_strided_vec4(
  @builtin(global_invocation_id) gid: vec3u,
  @builtin(num_workgroups) groups: vec3u,
) {
  let i = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  let inner4 = params.inner / 4u;
  if (i >= params.outer * params.parts * inner4) {
    return;
  }
  let j = i % inner4;
  let p = (i / inner4) % params.parts;
  let o = i / (inner4 * params.parts);
  let base = o * params.n * inner4 + j;
  var acc = vec4f();
  for (var k = p; k < params.n; k += params.parts) {
    acc += pre4(x4[base + k * inner4]);
  }
  out4[i] = params.alpha * acc;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn sum_partials(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  let parts = params.inner;
  if (i >= params.outer * parts) {
    return;
  }
  let base = (i / parts) * params.n;
  var acc = 0.0;
  for (var k = i % parts; k < params.n; k += parts) {
    acc += pre(x[base + k]);
  }
  out[i] = params.alpha * acc;
}

// sum_partials over rows of whole vec4s (n % 4 = 0): part p sums vec4s p, p + parts, …
@compute @workgroup_size(WORKGROUP_SIZE)
fn sum_partials_vec4(
  @builtin(global_invocation_id) gid: vec3u,
  @builtin(num_workgroups) groups: vec3u,
) {
  let i = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  let parts = params.inner;
  if (i >= params.outer * parts) {
    return;
  }
  let n4 = params.n / 4u;
  let base = (i / parts) * n4;
  var acc = vec4f();
  for (var k = i % parts; k < n4; k += parts) {
    acc += pre4(x4[base + k]);
  }
  out[i] = params.alpha * dot(acc, vec4f(1.0));
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn sum_rows(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(local_invocation_id) lid: vec3u,
  @builtin(num_workgroups) groups: vec3u,
) {
  let row = wid.x + wid.y * groups.x;
  if (row >= params.outer) {
    return;
  }
  let base = row * params.n;
  var acc = 0.0;
  for (var k = lid.x; k < params.n; k += WORKGROUP_SIZE) {
    acc += pre(x[base + k]);
  }
  partial[lid.x] = acc;
  workgroupBarrier();
  for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride /= 2u) {
    if (lid.x < stride) {
      partial[lid.x] += partial[lid.x + stride];
    }
    workgroupBarrier();
  }
  if (lid.x == 0u) {
    out[row] = params.alpha * partial[0];
  }
}
