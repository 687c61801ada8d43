// reduce.wgsl — sums over one axis of x viewed as [outer, n, inner], after an elementwise PRE op.
//   forward: out[o, i] = alpha · Σ_k pre(x[o, k, i])     PRE: 0 x, 1 x², 2 |x|
//   backward of sum/mean is an expand (lib/ops/movement.ts), so no backward entry point here.
// Entry points, in order of complexity:
//   sum_strided  one thread per output, loops over n (coalesced across inner; best when inner ≫ 1)
//   sum_rows     one workgroup per output row (inner = 1), tree reduction in workgroup memory
// Bindings (group 0): 0 x (read), 1 out (read_write), 2 params (uniform).
override PRE: u32 = 0;
override WORKGROUP_SIZE: u32 = 256;

struct Params {
  outer: u32,
  n: u32,
  inner: u32,
  alpha: f32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

var<workgroup> partial: array<f32, WORKGROUP_SIZE>;

fn pre(v: f32) -> f32 {
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
