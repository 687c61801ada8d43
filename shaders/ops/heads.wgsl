// heads.wgsl — the head split and merge of multi-head attention as single copies (timm layout).
// A "packed" tensor is [B, N, P, H, hd] (P = 3 for qkv: channel j = which·D + head·hd + d with
// D = H·hd; P = 1 for the merged attention output [B, N, H·hd]); the "head" tensors are P
// separate [B, H, N, hd] tensors (q, k, v).
//   unpack:  heads[which][b, h, n, d] = packed[b, n, which, h, d]    (splitHeads forward,
//                                                                    mergeHeads backward)
//   pack:    packed[b, n, which, h, d] = heads[which][b, h, n, d]    (mergeHeads forward,
//                                                                    splitHeads backward)
//   Both are pure movement: forward and backward are exact and are each other's inverse.
// Entry points, in order of complexity (each also as `_vec4`, moving four consecutive d at a time,
// for hd % 4 == 0; hd in params then counts vec4s):
//   unpack_one  P = 1: packed → h0
//   unpack      packed → h0, h1, h2; gid.z = which (uniform per workgroup, P ≤ 3)
//   pack        h0, h1, h2 → packed; gid.z = which; a part whose bit of params.present is clear
//               writes zeros (a head that received no gradient)
// Each invocation moves one row of hd elements (which, b, h, n): the head side of a row is
// contiguous, the packed side too. Per row, (b, h, n) costs two div/mods; FAST_DIV (all rows
// < 2^23) turns them into float reciprocals as in elementwise.wgsl, since CPU adapters scalarise
// integer division. Measured on lavapipe, a row per invocation beats an element (or vec4) per
// invocation by ~1.5–2×: the index math, not the memory traffic, bounds a copy there.
// Bindings (group 0): unpack*: 0 packed (read), 1 h0, 2 h1, 3 h2 (read_write), 4 params;
//                     pack*:   0 h0, 1 h1, 2 h2 (read), 3 packed (read_write), 4 params.
// The _vec4 entry points see the same bindings as array<vec4f>; no entry point uses both views.
override WORKGROUP_SIZE: u32 = 64;
override FAST_DIV: bool = false;

struct Params {
  rows: u32,     // rows of one head tensor: B·H·N
  parts: u32,    // P
  present: u32,  // pack: bit `which` set when head tensor `which` is bound
  hd: u32,       // hd / V: units per row
  tokens: u32,   // N
  heads: u32,    // H
  inv_tokens: f32,
  inv_heads: f32,
}

@group(0) @binding(0) var<storage, read> packed_in: array<f32>;
@group(0) @binding(1) var<storage, read_write> h0_out: array<f32>;
@group(0) @binding(2) var<storage, read_write> h1_out: array<f32>;
@group(0) @binding(3) var<storage, read_write> h2_out: array<f32>;
@group(0) @binding(0) var<storage, read> h0_in: array<f32>;
@group(0) @binding(1) var<storage, read> h1_in: array<f32>;
@group(0) @binding(2) var<storage, read> h2_in: array<f32>;
@group(0) @binding(3) var<storage, read_write> packed_out: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

@group(0) @binding(0) var<storage, read> packed_in4: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> h0_out4: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> h1_out4: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> h2_out4: array<vec4f>;
@group(0) @binding(0) var<storage, read> h0_in4: array<vec4f>;
@group(0) @binding(1) var<storage, read> h1_in4: array<vec4f>;
@group(0) @binding(2) var<storage, read> h2_in4: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> packed_out4: array<vec4f>;

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

/** Start of row r = (b·H + h)·N + n of head tensor `which` in the packed tensor (units). */
fn packed_row(r: u32, which: u32) -> u32 {
  let n = div_mod(r, params.tokens, params.inv_tokens); // (b·H + h, n)
  let h = div_mod(n.x, params.heads, params.inv_heads); // (b, h)
  let row = (h.x * params.tokens + n.y) * params.parts + which;
  return (row * params.heads + h.y) * params.hd;
}

fn row_index(gid: vec3u, groups: vec3u) -> u32 {
  return gid.x + gid.y * groups.x * WORKGROUP_SIZE;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn unpack_one(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let r = row_index(gid, groups);
  if (r < params.rows) {
    let src = packed_row(r, 0u);
    let dst = r * params.hd;
    for (var d = 0u; d < params.hd; d++) {
      h0_out[dst + d] = packed_in[src + d];
    }
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn unpack_one_vec4(
  @builtin(global_invocation_id) gid: vec3u,
  @builtin(num_workgroups) groups: vec3u,
) {
  let r = row_index(gid, groups);
  if (r < params.rows) {
    let src = packed_row(r, 0u);
    let dst = r * params.hd;
    for (var d = 0u; d < params.hd; d++) {
      h0_out4[dst + d] = packed_in4[src + d];
    }
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn unpack(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let r = row_index(gid, groups);
  let which = gid.z;
  if (r < params.rows) {
    let src = packed_row(r, which);
    let dst = r * params.hd;
    for (var d = 0u; d < params.hd; d++) {
      let x = packed_in[src + d];
      if (which == 0u) {
        h0_out[dst + d] = x;
      } else if (which == 1u) {
        h1_out[dst + d] = x;
      } else {
        h2_out[dst + d] = x;
      }
    }
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn unpack_vec4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let r = row_index(gid, groups);
  let which = gid.z;
  if (r < params.rows) {
    let src = packed_row(r, which);
    let dst = r * params.hd;
    for (var d = 0u; d < params.hd; d++) {
      let x = packed_in4[src + d];
      if (which == 0u) {
        h0_out4[dst + d] = x;
      } else if (which == 1u) {
        h1_out4[dst + d] = x;
      } else {
        h2_out4[dst + d] = x;
      }
    }
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn pack(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let r = row_index(gid, groups);
  let which = gid.z;
  if (r < params.rows) {
    let present = (params.present & (1u << which)) != 0u;
    let src = r * params.hd;
    let dst = packed_row(r, which);
    for (var d = 0u; d < params.hd; d++) {
      var x = 0.0;
      if (present) {
        if (which == 0u) {
          x = h0_in[src + d];
        } else if (which == 1u) {
          x = h1_in[src + d];
        } else {
          x = h2_in[src + d];
        }
      }
      packed_out[dst + d] = x;
    }
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn pack_vec4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let r = row_index(gid, groups);
  let which = gid.z;
  if (r < params.rows) {
    let present = (params.present & (1u << which)) != 0u;
    let src = r * params.hd;
    let dst = packed_row(r, which);
    for (var d = 0u; d < params.hd; d++) {
      var x = vec4f(0.0);
      if (present) {
        if (which == 0u) {
          x = h0_in4[src + d];
        } else if (which == 1u) {
          x = h1_in4[src + d];
        } else {
          x = h2_in4[src + d];
        }
      }
      packed_out4[dst + d] = x;
    }
  }
}
