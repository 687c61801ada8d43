// patchify.wgsl — im2col / col2im for non-overlapping p×p patches (the ViT patch embedding,
// Conv2d(C, D, kernel=p, stride=p) = im2col + matmul; the matmul is matmul.wgsl).
//   forward  (im2col): cols[b·N + py·Wp + px, c·p² + ky·p + kx] = x[b, c, py·p + ky, px·p + kx]
//   backward (col2im): dx[b, c, y, x] = dcols[b·N + (y/p)·Wp + x/p, c·p² + (y%p)·p + x%p]
//   with Wp = W/p, N = (H/p)·Wp. Patches do not overlap, so every dx element has exactly one
//   source in dcols: col2im is a gather like im2col, with no atomics and no accumulation.
// Entry points, in order of complexity:
//   im2col  one thread per cols element (writes contiguous, reads p-long runs of x)
//   col2im  one thread per x element (writes contiguous, reads p-long runs of dcols)
// lib/ops/patchify.ts uses these when p or W is not a multiple of 4; otherwise the same
// permutation runs as a vec4 strided copy (elementwise.wgsl's unary_strided_vec4).
// Napkin math: a pure permutation, 0 FLOPs and 8 bytes (one f32 read, one write) per element.
// Bindings (group 0): 0 src (read: x or dcols), 1 dst (read_write: cols or dx), 2 params (uniform).
override WORKGROUP_SIZE: u32 = 256;

struct Params {
  total: u32,
  channels: u32,
  height: u32,
  width: u32,
  patch_size: u32,
  grid_w: u32,
  patches: u32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

fn flat_index(gid: vec3u, groups: vec3u) -> u32 {
  return gid.x + gid.y * groups.x * WORKGROUP_SIZE;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn im2col(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = flat_index(gid, groups);
  if (i >= params.total) {
    return;
  }
  let p = params.patch_size;
  let pp = p * p;
  let k_len = params.channels * pp;
  let row = i / k_len;
  let k = i % k_len;
  let b = row / params.patches;
  let n = row % params.patches;
  let py = n / params.grid_w;
  let px = n % params.grid_w;
  let c = k / pp;
  let r = k % pp;
  let y = py * p + r / p;
  let x = px * p + r % p;
  dst[i] = src[((b * params.channels + c) * params.height + y) * params.width + x];
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn col2im(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = flat_index(gid, groups);
  if (i >= params.total) {
    return;
  }
  let p = params.patch_size;
  let x = i % params.width;
  let rest = i / params.width;
  let y = rest % params.height;
  let bc = rest / params.height;
  let c = bc % params.channels;
  let b = bc / params.channels;
  let row = b * params.patches + (y / p) * params.grid_w + x / p;
  let k = c * p * p + (y % p) * p + x % p;
  dst[i] = src[row * params.channels * p * p + k];
}
