// adamw.wgsl — one AdamW step of one parameter tensor, exactly torch 1.13 AdamW (single tensor),
// with dino's per-tensor gradient clipping fused in (CLIP = 1: the factor comes from clip.wgsl).
//   g  = CLIP ? g · coef[slot] : g          (the clipped g is written back, as dino clips in place)
//   p  = p · (1 − lr·wd)                       decoupled decay first        (decay   = 1 − lr·wd)
//   m  = β1·m + (1 − β1)·g ;  v = β2·v + (1 − β2)·g²
//   p  = p − step_size · m / (sqrt(v) / bc2_sqrt + eps)   step_size = lr/(1 − β1^t), bc2_sqrt = sqrt(1 − β2^t)
// decay, step_size and bc2_sqrt are computed on the CPU in float64 from the parameter's own step
// count t. Parameters live in their own tensors and WGSL cannot index a variable number of
// buffers, so the optimiser encodes one dispatch of this kernel per parameter (see adamw.ts).
// Entry points: step (one thread per element; 28 bytes of traffic per element, 36 with CLIP);
// step_vec4, the same for four elements when n % 4 = 0 (params.n counts vec4s then).
// Bindings (group 0): 0 param, 1 grad, 2 exp_avg, 3 exp_avg_sq (read_write), 4 coef (read),
// 5 params (uniform).
override CLIP: u32 = 0;
override WORKGROUP_SIZE: u32 = 256;

struct Params {
  n: u32,
  slot: u32,
  _pad0: u32,
  _pad1: u32,
  decay: f32,
  beta1: f32,
  one_minus_beta1: f32,
  beta2: f32,
  one_minus_beta2: f32,
  step_size: f32,
  bc2_sqrt: f32,
  eps: f32,
}

@group(0) @binding(0) var<storage, read_write> param: array<f32>;
@group(0) @binding(1) var<storage, read_write> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> exp_avg: array<f32>;
@group(0) @binding(3) var<storage, read_write> exp_avg_sq: array<f32>;
@group(0) @binding(4) var<storage, read> coef: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;
// The same tensors as vec4s, for step_vec4 (no entry point uses both views).
@group(0) @binding(0) var<storage, read_write> param4: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> grad4: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> exp_avg4: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> exp_avg_sq4: array<vec4f>;

// The updated (param, exp_avg, exp_avg_sq) of four elements from their values and gradient g.
fn update(p: vec4f, g: vec4f, m: vec4f, v: vec4f) -> array<vec4f, 3> {
  let m_next = params.beta1 * m + params.one_minus_beta1 * g;
  let v_next = params.beta2 * v + params.one_minus_beta2 * g * g;
  let step = params.step_size * (m_next / (sqrt(v_next) / params.bc2_sqrt + params.eps));
  return array(p * params.decay - step, m_next, v_next);
}

fn clip_factor() -> f32 {
  if (CLIP == 1u) {
    return coef[params.slot];
  }
  return 1.0;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn step(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (i >= params.n) {
    return;
  }
  let g = grad[i] * clip_factor();
  if (CLIP == 1u) {
    grad[i] = g;
  }
  let next = update(vec4f(param[i]), vec4f(g), vec4f(exp_avg[i]), vec4f(exp_avg_sq[i]));
  param[i] = next[0].x;
  exp_avg[i] = next[1].x;
  exp_avg_sq[i] = next[2].x;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn step_vec4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (i >= params.n) {
    return;
  }
  let g = grad4[i] * clip_factor();
  if (CLIP == 1u) {
    grad4[i] = g;
  }
  let next = update(param4[i], g, exp_avg4[i], exp_avg_sq4[i]);
  param4[i] = next[0];
  exp_avg4[i] = next[1];
  exp_avg_sq4[i] = next[2];
}
