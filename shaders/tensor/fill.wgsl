// fill.wgsl — writes one 32-bit pattern to every word of a buffer (zeros, ones, full of any dtype:
// f16 tensors pass their value twice in one word).
//   forward: out[i] = PATTERN
// Entry points: forward (one word per invocation), forward_vec4 (four words per invocation, when
// the word count is a multiple of 4: params.words counts vec4s then; ~2.5× faster on lavapipe).
// Bindings (group 0): 0 out (read_write; as array<vec4u> in forward_vec4), 1 params (uniform).
override WORKGROUP_SIZE: u32 = 256;

struct Params {
  words: u32,
  pattern: u32,
}

@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(0) var<storage, read_write> out4: array<vec4u>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (i < params.words) {
    out[i] = params.pattern;
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn forward_vec4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (i < params.words) {
    out4[i] = vec4u(params.pattern);
  }
}
