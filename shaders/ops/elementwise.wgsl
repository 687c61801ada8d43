// elementwise.wgsl — unary and binary elementwise ops, selected by the OP override.
//   unary  (OP): 0 affine alpha·x + beta, 1 exp, 2 log, 3 sqrt, 4 relu, 5 square, 6 abs, 7 sign
//   binary (OP): 0 a + b, 1 a − b, 2 a · b, 3 a / b, 4 relu backward b·[a > 0], 5 a + alpha·b,
//                6 max(a, b), 7 a·b·alpha + beta, 8 alpha·a + beta·b
//   Backward of each op is built from these same entry points in lib/ops/elementwise.ts.
// Entry points, in order of complexity:
//   unary          out[i] = f(a[i])
//   binary_same    out[i] = g(a[i], b[i])                           (equal shapes)
//   binary_inplace out[i] = g(out[i], b[i])                         (optimiser-style updates)
//   unary_vec4, binary_same_vec4, binary_inplace_vec4: the same, four elements per invocation
//                  when n % 4 == 0 (params.n counts vec4s then). Vector loads and stores, and a
//                  quarter of the invocations, make a copy ~2.5–3× faster on lavapipe.
//   binary_rows_vec4  out[i] = g(a[i], b[i % rows]) (or g(a[i % rows], b[i]) when ROWS_IN_A):
//                  one operand repeats along the leading dims (a bias, a position embedding),
//                  rows = its length in vec4s, in params.shape[0].x.
//   binary_runs_vec4  out[i] = g(a[i], b[i / run]) (or g(b[i / run], a[i]) when ROWS_IN_A: the
//                  caller binds the full operand as a): each element of the repeated operand
//                  covers a run of `run` elements (a per-sample scale such as drop-path's),
//                  run = params.shape[0].y, a multiple of 4.
//   unary_strided  out[io] = f(a[ia])       over an iteration shape of rank ≤ 8, where
//   binary_strided out[io] = g(a[ia], b[ib]) ix = x_offset + Σ_d coord_d · x_strides_d
//   The strided forms cover broadcasting (stride 0), expand, permute, slice and concat.
//   unary_strided_vec4, binary_strided_vec4: the same over vec4s, when the innermost dim is a
//                  contiguous run of whole vec4s in every operand (shape, strides and offsets
//                  in vec4s then): a slice, concat or padding of [B, N, D] rows along N.
// Bindings (group 0): 0 a (read), 1 b (read), 2 out (read_write), 3 params (uniform). The vec4
// entry points read the same bindings as array<vec4f> (a4, b4, out4): WGSL allows two variables
// at one binding as long as no entry point uses both.
override OP: u32 = 0;
override WORKGROUP_SIZE: u32 = 256;
// Strided entry points: RANK (≤ 8) fixes the loop count so it unrolls. On CPU adapters integer
// division is scalarised lane by lane; FAST_DIV (set when every index < 2^23) divides by
// multiplying with a float reciprocal instead, exact after a ±1 correction.
override RANK: u32 = 8;
override FAST_DIV: bool = false;
// binary_rows_vec4, binary_runs_vec4: a (not b) is the repeated operand.
override ROWS_IN_A: bool = false;

struct Params {
  n: u32,
  rank: u32,
  alpha: f32,
  beta: f32,
  a_offset: u32,
  b_offset: u32,
  out_offset: u32,
  _pad: u32,
  shape: array<vec4u, 2>,
  a_strides: array<vec4u, 2>,
  b_strides: array<vec4u, 2>,
  out_strides: array<vec4u, 2>,
  inv_shape: array<vec4f, 2>,
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;
@group(0) @binding(0) var<storage, read> a4: array<vec4f>;
@group(0) @binding(1) var<storage, read> b4: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> out4: array<vec4f>;

fn unary_op(x: f32) -> f32 {
  if (OP == 0u) { return params.alpha * x + params.beta; }
  if (OP == 1u) { return exp(x); }
  if (OP == 2u) { return log(x); }
  if (OP == 3u) { return sqrt(x); }
  if (OP == 4u) { return max(x, 0.0); }
  if (OP == 5u) { return x * x; }
  if (OP == 6u) { return abs(x); }
  return sign(x);
}

fn binary_op(x: f32, y: f32) -> f32 {
  if (OP == 0u) { return x + y; }
  if (OP == 1u) { return x - y; }
  if (OP == 2u) { return x * y; }
  if (OP == 3u) { return x / y; }
  if (OP == 4u) { return select(0.0, y, x > 0.0); }
  if (OP == 5u) { return x + params.alpha * y; }
  if (OP == 6u) { return max(x, y); }
  if (OP == 7u) { return x * y * params.alpha + params.beta; }
  return params.alpha * x + params.beta * y;
}

// The scalar ops lane by lane: one table of ops, and the backend vectorises what it can.
fn unary_op4(x: vec4f) -> vec4f {
  return vec4f(unary_op(x.x), unary_op(x.y), unary_op(x.z), unary_op(x.w));
}

fn binary_op4(x: vec4f, y: vec4f) -> vec4f {
  return vec4f(binary_op(x.x, y.x), binary_op(x.y, y.y), binary_op(x.z, y.z), binary_op(x.w, y.w));
}

fn flat_index(gid: vec3u, groups: vec3u) -> u32 {
  return gid.x + gid.y * groups.x * WORKGROUP_SIZE;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn unary(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = flat_index(gid, groups);
  if (i < params.n) {
    out[i] = unary_op(a[i]);
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn binary_same(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = flat_index(gid, groups);
  if (i < params.n) {
    out[i] = binary_op(a[i], b[i]);
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn binary_inplace(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = flat_index(gid, groups);
  if (i < params.n) {
    out[i] = binary_op(out[i], b[i]);
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn unary_vec4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = flat_index(gid, groups);
  if (i < params.n) {
    out4[i] = unary_op4(a4[i]);
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn binary_same_vec4(
  @builtin(global_invocation_id) gid: vec3u,
  @builtin(num_workgroups) groups: vec3u,
) {
  let i = flat_index(gid, groups);
  if (i < params.n) {
    out4[i] = binary_op4(a4[i], b4[i]);
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn binary_inplace_vec4(
  @builtin(global_invocation_id) gid: vec3u,
  @builtin(num_workgroups) groups: vec3u,
) {
  let i = flat_index(gid, groups);
  if (i < params.n) {
    out4[i] = binary_op4(out4[i], b4[i]);
  }
}

// binary_op4 on the full operand's vec4 and the repeated operand's, in the order ROWS_IN_A says.
fn repeated_op4(full: vec4f, repeated: vec4f) -> vec4f {
  if (ROWS_IN_A) {
    return binary_op4(repeated, full);
  }
  return binary_op4(full, repeated);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn binary_rows_vec4(
  @builtin(global_invocation_id) gid: vec3u,
  @builtin(num_workgroups) groups: vec3u,
) {
  let i = flat_index(gid, groups);
  if (i < params.n) {
    let row = i % params.shape[0].x;
    if (ROWS_IN_A) {
      out4[i] = repeated_op4(b4[i], a4[row]);
    } else {
      out4[i] = repeated_op4(a4[i], b4[row]);
    }
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn binary_runs_vec4(
  @builtin(global_invocation_id) gid: vec3u,
  @builtin(num_workgroups) groups: vec3u,
) {
  let i = flat_index(gid, groups);
  if (i < params.n) {
    // The full operand is always bound as a (vec4s), the repeated one as b (scalars).
    out4[i] = repeated_op4(a4[i], vec4f(b[i * 4u / params.shape[0].y]));
  }
}

struct Offsets {
  a: u32,
  b: u32,
  out: u32,
}

/** (rest / size, rest % size); `inv` is f32(1 / size). */
fn div_mod(rest: u32, size: u32, inv: f32) -> vec2u {
  if (FAST_DIV) {
    var q = u32(f32(rest) * inv);
    if (q * size > rest) {
      q -= 1u;
    }
    if ((q + 1u) * size <= rest) {
      q += 1u;
    }
    return vec2u(q, rest - q * size);
  }
  return vec2u(rest / size, rest % size);
}

fn strided_offsets(i: u32) -> Offsets {
  var rest = i;
  var o = Offsets(params.a_offset, params.b_offset, params.out_offset);
  for (var d = i32(RANK) - 1; d >= 0; d--) {
    let q = u32(d) / 4u;
    let r = u32(d) % 4u;
    let qr = div_mod(rest, params.shape[q][r], params.inv_shape[q][r]);
    let coord = qr.y;
    rest = qr.x;
    o.a += coord * params.a_strides[q][r];
    o.b += coord * params.b_strides[q][r];
    o.out += coord * params.out_strides[q][r];
  }
  return o;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn unary_strided(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = flat_index(gid, groups);
  if (i < params.n) {
    let o = strided_offsets(i);
    out[o.out] = unary_op(a[o.a]);
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn binary_strided(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = flat_index(gid, groups);
  if (i < params.n) {
    let o = strided_offsets(i);
    out[o.out] = binary_op(a[o.a], b[o.b]);
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn unary_strided_vec4(
  @builtin(global_invocation_id) gid: vec3u,
  @builtin(num_workgroups) groups: vec3u,
) {
  let i = flat_index(gid, groups);
  if (i < params.n) {
    let o = strided_offsets(i);
    out4[o.out] = unary_op4(a4[o.a]);
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn binary_strided_vec4(
  @builtin(global_invocation_id) gid: vec3u,
  @builtin(num_workgroups) groups: vec3u,
) {
  let i = flat_index(gid, groups);
  if (i < params.n) {
    let o = strided_offsets(i);
    out4[o.out] = binary_op4(a4[o.a], b4[o.b]);
  }
}
