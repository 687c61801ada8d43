// attention.wgsl — the row softmax of scaled-dot-product attention, O = softmax(s · q kᵀ) v.
// The three products per direction are matmul.wgsl (lib/ops/attention.ts encodes them):
//   forward:  S = s · q kᵀ (nt) ;  P = softmax over each row of S (here, in place) ;  O = P v (nn)
//   backward: dv = Pᵀ dO (tn) ;  dP = dO vᵀ (nt) ;
//             dS[r, j] = P[r, j] · (dP[r, j] − Σ_k dP[r, k] · P[r, k])   (here, in place on dP) ;
//             dq = s · dS k (nn) ;  dk = s · dSᵀ q (tn)
// Rows are the B·H·Nq query rows of length Nk (the keys); the softmax is max-subtracted, so a
// logit of +90 does not overflow exp in f32.
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
  n: u32,
}

@group(0) @binding(0) var<storage, read_write> probs: array<f32>;
@group(0) @binding(1) var<storage, read_write> dprobs: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

fn row_index(gid: vec3u, groups: vec3u) -> u32 {
  return gid.x + gid.y * groups.x * WORKGROUP_SIZE;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let row = row_index(gid, groups);
  if (row >= params.rows) {
    return;
  }
  let base = row * params.n;
  var row_max = probs[base];
  for (var j = 1u; j < params.n; j++) {
    row_max = max(row_max, probs[base + j]);
  }
  var total = 0.0;
  for (var j = 0u; j < params.n; j++) {
    let e = exp(probs[base + j] - row_max);
    probs[base + j] = e;
    total += e;
  }
  // total ≥ 1 (the max element contributes e⁰), so the division is always safe.
  let inv = 1.0 / total;
  for (var j = 0u; j < params.n; j++) {
    probs[base + j] *= inv;
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let row = row_index(gid, groups);
  if (row >= params.rows) {
    return;
  }
  let base = row * params.n;
  var dot = 0.0;
  for (var j = 0u; j < params.n; j++) {
    dot = fma(dprobs[base + j], probs[base + j], dot);
  }
  for (var j = 0u; j < params.n; j++) {
    dprobs[base + j] = probs[base + j] * (dprobs[base + j] - dot);
  }
}
