// transpose.wgsl — out[b, c, r] = x[b, r, c]: the last two dims of a contiguous [B, R, C] swapped
// (lib/ops/movement.ts's permute takes it when R and C are multiples of 4; its backward is the
// same swap). Each thread moves one 4×4 block: four vec4 loads, a transpose in registers, four
// vec4 stores. The general permute (elementwise.wgsl's unary_strided) rebuilds the coordinates of
// every element and moves scalars, ~0.13× a copy's bandwidth on lavapipe.
// Napkin math: 8 bytes moved per element, one thread per 16 elements.
// Bindings (group 0): 0 x (read), 1 out (read_write), 2 params (uniform).
override WORKGROUP_SIZE: u32 = 64u;

struct Params {
  batch: u32,
  rows: u32,
  cols: u32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> x: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> out: array<vec4f>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(WORKGROUP_SIZE)
fn transpose_blocks(
  @builtin(global_invocation_id) gid: vec3u,
  @builtin(num_workgroups) groups: vec3u,
) {
  let i = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  let row_vec4s = params.rows / 4u;
  let col_vec4s = params.cols / 4u;
  let per_batch = row_vec4s * col_vec4s;
  if (i >= per_batch * params.batch) {
    return;
  }
  // Block (rb, cb) of batch b: x rows 4rb..4rb+3, columns 4cb..4cb+3 (one vec4 of each row).
  let b = i / per_batch;
  let block = i - b * per_batch;
  let rb = block / col_vec4s;
  let cb = block - rb * col_vec4s;
  let base = b * per_batch * 4u;
  let src = base + rb * 4u * col_vec4s + cb;
  // Column j of the transpose is x[4rb..4rb+3, 4cb + j]: out row 4cb + j at columns 4rb..4rb+3.
  let t = transpose(mat4x4f(x[src], x[src + col_vec4s], x[src + 2u * col_vec4s],
    x[src + 3u * col_vec4s]));
  let dst = base + cb * 4u * row_vec4s + rb;
  out[dst] = t[0];
  out[dst + row_vec4s] = t[1];
  out[dst + 2u * row_vec4s] = t[2];
  out[dst + 3u * row_vec4s] = t[3];
}
