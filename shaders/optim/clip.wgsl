// clip.wgsl — per-tensor gradient clipping as dino utils.clip_gradients, without a CPU readback.
//   n_p = ‖g_p‖₂ ;  c_p = clip / (n_p + 1e-6) ;  factor_p = c_p < 1 ? c_p : 1 ;  g_p ← g_p · factor_p
// Three steps: norm_partials (one dispatch per tensor p) writes PARTIALS partial sums of g² into
// row `slot` of `partials`; coefficients (one dispatch for all tensors, a workgroup per slot)
// reduces each row to coef[slot] = factor and coef[capacity + slot] = n; scale (one per tensor)
// multiplies g in place. adamw.wgsl can apply the factor itself instead of `scale`.
// Entry points, in order of complexity:
//   scale          g[i] *= coef[slot]; scale_vec4 the same over vec4s (n % 4 = 0)
//   coefficients   workgroup per slot: tree sum of its PARTIALS partials, then the factor
//   norm_partials  G ≤ PARTIALS workgroups, grid-stride Σ g², tree sum; workgroup 0 zero-fills
//                  slots G … PARTIALS−1 so that `coefficients` can always read PARTIALS values.
//                  G gives each thread ≥ 64 elements: every workgroup's tree costs ~50 µs of
//                  barriers on lavapipe. norm_partials_vec4: the same over vec4s (n % 4 = 0).
// Bindings (group 0): 0 grad (read_write), 1 partials (read_write, [tensors, PARTIALS]),
// 2 coef (read_write, [2, capacity]: factors then norms), 3 params (uniform).
const PARTIALS: u32 = 256u;

struct Params {
  n: u32,         // elements of the tensor (norm_partials, scale); tensors (coefficients)
  slot: u32,      // row of this tensor in partials and coef
  groups: u32,    // G, workgroups of norm_partials; capacity (coefficients)
  _pad: u32,
  max_norm: f32,  // clip
  _pad1: f32,
  _pad2: f32,
  _pad3: f32,
}

@group(0) @binding(0) var<storage, read_write> grad: array<f32>;
@group(0) @binding(1) var<storage, read_write> partials: array<f32>;
@group(0) @binding(2) var<storage, read_write> coef: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;
// grad again as vec4s, for the _vec4 entry points (no entry point uses both views).
@group(0) @binding(0) var<storage, read_write> grad4: array<vec4f>;

var<workgroup> wg_sum: array<f32, PARTIALS>;

fn tree_sum(lid: u32, v: f32) -> f32 {
  wg_sum[lid] = v;
  workgroupBarrier();
  for (var stride = PARTIALS / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      wg_sum[lid] += wg_sum[lid + stride];
    }
    workgroupBarrier();
  }
  return wg_sum[0];
}

@compute @workgroup_size(PARTIALS)
fn scale(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * PARTIALS;
  if (i < params.n) {
    grad[i] *= coef[params.slot];
  }
}

// scale for n % 4 = 0, over vec4s (params.n counts vec4s then).
@compute @workgroup_size(PARTIALS)
fn scale_vec4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * PARTIALS;
  if (i < params.n) {
    grad4[i] *= coef[params.slot];
  }
}

@compute @workgroup_size(PARTIALS)
fn coefficients(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(local_invocation_id) lid: vec3u,
  @builtin(num_workgroups) groups: vec3u,
) {
  let slot = wid.x + wid.y * groups.x;
  if (slot >= params.n) {
    return;
  }
  let total = tree_sum(lid.x, partials[slot * PARTIALS + lid.x]);
  if (lid.x == 0u) {
    let norm = sqrt(total);
    let c = params.max_norm / (norm + 1e-6);
    coef[slot] = select(1.0, c, c < 1.0);
    coef[params.groups + slot] = norm;
  }
}

@compute @workgroup_size(PARTIALS)
fn norm_partials(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  var acc = 0.0;
  for (var i = wid.x * PARTIALS + lid.x; i < params.n; i += params.groups * PARTIALS) {
    let g = grad[i];
    acc += g * g;
  }
  store_partial(wid.x, lid.x, tree_sum(lid.x, acc));
}

// norm_partials for n % 4 = 0, over vec4s.
@compute @workgroup_size(PARTIALS)
fn norm_partials_vec4(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  var acc = vec4f();
  for (var i = wid.x * PARTIALS + lid.x; i < params.n / 4u; i += params.groups * PARTIALS) {
    let g = grad4[i];
    acc += g * g;
  }
  store_partial(wid.x, lid.x, tree_sum(lid.x, dot(acc, vec4f(1.0))));
}

// Workgroup `group`'s partial sum into row `slot`; workgroup 0 zero-fills the unused slots.
fn store_partial(group: u32, lid: u32, total: f32) {
  let row = params.slot * PARTIALS;
  if (lid == 0u) {
    partials[row + group] = total;
  }
  if (group == 0u && lid >= params.groups) {
    partials[row + lid] = 0.0;
  }
}
