// attention.wgsl — the row softmax of scaled-dot-product attention, O = softmax(s · q kᵀ) v.
// The three products per direction are matmul.wgsl (lib/ops/attention.ts encodes them):
//   forward:  S = s · q kᵀ (nt) ;  P = softmax over each row of S (here, in place) ;  O = P v (nn)
//   backward: dv = Pᵀ dO (tn) ;  dP = dO vᵀ (nt) ;
//             dS[r, j] = P[r, j] · (dP[r, j] − Σ_k dP[r, k] · P[r, k])   (here, in place on dP) ;
//             dq = s · dS k (nn) ;  dk = s · dSᵀ q (tn)
// Rows are the B·H·Nq query rows of length Nk (the keys), stored `n` floats apart: lib/ops/
// attention.ts pads the keys with zero rows to a multiple of 4 (Nk → n), so that every product
// and these loops move vec4s; the softmax masks the `n − valid` padded scores to P = 0, which then
// also zeroes their dS. The softmax is max-subtracted, so a logit of +90 does not overflow exp.
// Entry points, in order of complexity:
//   forward   one thread per row: max, then exp and sum (storing e^(x − max)), then scale by 1/sum
//   backward  one thread per row: Σ dP·P, then dS in place
// Napkin math: ~5 FLOPs and 3 reads + 2 writes per score against 4·hd FLOPs of matmul per score,
// so this pass is a few % of attention. A thread per row keeps it free of barriers: on llvmpipe a
// workgroup-per-row tree reduction measured 2–4× slower at N = 197.
// Bindings (group 0): 0 probs (read_write: S → P forward, P read backward),
//                     1 dprobs (read_write: dP → dS, backward only), 2 params (uniform).
override WORKGROUP_SIZE: u32 = 64;

struct Params {
  rows: u32,
  n: u32,     // floats per row, a multiple of 4
  valid: u32, // keys, 1 ≤ valid ≤ n; scores past it are padding
}

@group(0) @binding(0) var<storage, read_write> probs: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> dprobs: array<vec4f>;
@group(0) @binding(2) var<uniform> params: Params;

fn row_index(gid: vec3u, groups: vec3u) -> u32 {
  return gid.x + gid.y * groups.x * WORKGROUP_SIZE;
}

// Which of the 4 scores of vec4 j of a row are keys, not padding.
fn is_key(j: u32) -> vec4<bool> {
  return vec4u(4u * j) + vec4u(0u, 1u, 2u, 3u) < vec4u(params.valid);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let row = row_index(gid, groups);
  if (row >= params.rows) {
    return;
  }
  let n4 = params.n / 4u;
  let base = row * n4;
  // Score 0 is always a key (valid ≥ 1): a finite start for the max.
  var row_max = vec4f(probs[base].x);
  for (var j = 0u; j < n4; j++) {
    row_max = max(row_max, select(row_max, probs[base + j], is_key(j)));
  }
  let m = max(max(row_max.x, row_max.y), max(row_max.z, row_max.w));
  var total = vec4f();
  for (var j = 0u; j < n4; j++) {
    let e = select(vec4f(), exp(probs[base + j] - m), is_key(j));
    probs[base + j] = e;
    total += e;
  }
  // The sum ≥ 1 (the max element contributes e⁰), so the division is always safe.
  let inv = 1.0 / dot(total, vec4f(1.0));
  for (var j = 0u; j < n4; j++) {
    probs[base + j] *= inv;
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let row = row_index(gid, groups);
  if (row >= params.rows) {
    return;
  }
  let n4 = params.n / 4u;
  let base = row * n4;
  var acc = vec4f();
  for (var j = 0u; j < n4; j++) {
    acc = fma(dprobs[base + j], probs[base + j], acc);
  }
  let total = dot(acc, vec4f(1.0));
  for (var j = 0u; j < n4; j++) {
    dprobs[base + j] = probs[base + j] * (dprobs[base + j] - total);
  }
}
