// gelu.wgsl — GELU, exact erf form (torch.nn.functional.gelu default, approximate="none").
//   forward:  y  = x·Φ(x),                Φ(x) = ½(1 + erf(x/√2)) = ½ erfc(−x/√2)
//   backward: dx = dy·(Φ(x) + x·φ(x)),    φ(x) = exp(−x²/2)/√(2π)
// WGSL has no erf. erfc_pos below is N. Juffa's single-precision erff (max error ~1 ulp;
// measured |err| ≤ 6e-8 over [−6, 6] in f32 emulation, against 1.5e-7 for A&S 7.1.26).
// For x < 0, Φ comes from erfc = exp(r) directly, so there is no 1 − erf cancellation in the tail.
// Entry points:
//   forward, backward            one thread per element (the math is written for vec4s: lane x)
//   forward_vec4, backward_vec4  one thread per 4 elements when n % 4 = 0 (params.n counts
//                                vec4s): a quarter of the load and store loops on lavapipe
// Bindings (group 0): 0 x (read), 1 dy (read, backward only), 2 out (y | dx), 3 params (uniform).
override WORKGROUP_SIZE: u32 = 256;

struct Params {
  n: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;
// The same bindings as vec4s, for the _vec4 entry points (no entry point uses both views).
@group(0) @binding(0) var<storage, read> x4: array<vec4f>;
@group(0) @binding(1) var<storage, read> dy4: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> out4: array<vec4f>;

const FRAC_1_SQRT_2: f32 = 0.70710678118654752;
const FRAC_1_SQRT_2PI: f32 = 0.39894228040143268;
// Below t = 475/512, erf is a polynomial in t²; above it, erfc(t) = exp(r(t)).
const ERF_SPLIT: f32 = 0.927734375;

// erfc(t) for t ≥ 0, four at a time. Both branches are evaluated and selected: lavapipe runs
// the lanes of a divergent `if` through both sides anyway.
fn erfc_pos(t: vec4f) -> vec4f {
  let s = t * t;
  var r = fma(vec4f(-1.72853470e-5), t, vec4f(3.83197126e-4));
  let u = fma(vec4f(-3.88396438e-3), t, vec4f(2.42546219e-2));
  r = fma(r, s, u);
  r = fma(r, t, vec4f(-1.06777877e-1));
  r = fma(r, t, vec4f(-6.34846687e-1));
  r = fma(r, t, vec4f(-1.28717512e-1));
  r = fma(r, t, -t);
  var p = vec4f(-5.96761703e-4);
  p = fma(p, s, vec4f(4.99119423e-3));
  p = fma(p, s, vec4f(-2.67681349e-2));
  p = fma(p, s, vec4f(1.12819925e-1));
  p = fma(p, s, vec4f(-3.76125336e-1));
  p = fma(p, s, vec4f(1.28379166e-1));
  return select(1.0 - fma(p, t, t), exp(r), t > vec4f(ERF_SPLIT));
}

// Φ(v), the standard normal CDF.
fn normal_cdf(v: vec4f) -> vec4f {
  let half_erfc = 0.5 * erfc_pos(abs(v) * FRAC_1_SQRT_2);
  return select(1.0 - half_erfc, half_erfc, v < vec4f());
}

fn gelu(v: vec4f) -> vec4f {
  return v * normal_cdf(v);
}

// dGELU/dv.
fn gelu_slope(v: vec4f) -> vec4f {
  return normal_cdf(v) + v * FRAC_1_SQRT_2PI * exp(-0.5 * v * v);
}

fn index(gid: vec3u, groups: vec3u) -> u32 {
  return gid.x + gid.y * groups.x * WORKGROUP_SIZE;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = index(gid, groups);
  if (i < params.n) {
    out[i] = gelu(vec4f(x[i])).x;
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = index(gid, groups);
  if (i < params.n) {
    out[i] = dy[i] * gelu_slope(vec4f(x[i])).x;
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn forward_vec4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = index(gid, groups);
  if (i < params.n) {
    out4[i] = gelu(x4[i]);
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn backward_vec4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = index(gid, groups);
  if (i < params.n) {
    out4[i] = dy4[i] * gelu_slope(x4[i]);
  }
}
