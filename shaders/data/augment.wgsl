// augment.wgsl — DINO multi-crop augmentation, batched: every image of a view batch has its own
// record of random parameters (drawn on the CPU by lib/data/augment.ts), all pixel work is here.
// Chain per image: resized crop (+ flip) → colour jitter (4 ops in the image's order) → grayscale
// → Gaussian blur → solarize → normalize. Formulas (tests/fixtures/README.md §13):
//   bilinear, per axis: src = max((o + 0.5)·in/out − 0.5, 0), i0 = floor(src) ≤ in−1,
//     i1 = min(i0 + 1, in−1), λ = src − i0, out = (1−λ)·a[i0] + λ·a[i1]   (align_corners=False)
//   bicubic (torch upsample_bicubic2d, A = −0.75): src = (o + 0.5)·in/out − 0.5 (no clamp),
//     taps floor(src) − 1 … + 2 clamped to [0, in−1]
//   gray = 0.299 R + 0.587 G + 0.114 B (1 channel: gray = x)
//   brightness clamp(f·x, 0, 1); contrast clamp(f·x + (1−f)·mean(gray), 0, 1) with the mean over
//   the whole image at that point of the chain; saturation clamp(f·x + (1−f)·gray, 0, 1);
//   hue: torchvision's tensor RGB→HSV, H = (H + h) mod 1, HSV→RGB (p, q, t clamped)
//   blur: separable correlation with the record's 1-D weights, reflect padding (no edge repeat)
//   solarize x ≥ threshold → 1 − x; normalize (x − mean_c) / std_c. No forward/backward pair:
//   augmentation has no gradient.
// Entry points, in order of complexity (one view batch each, images [batch, CHANNELS, h, w]);
// the first three run one thread per pixel (all its channels) on a grid (x, y, image) of 16×16
// tiles:
//   resized_crop  crop box + resize + optional flip, src → dst
//   blur_rows     horizontal blur pass, src → dst (skipped when no image of the view is blurred)
//   blur_cols     vertical blur pass, then solarize and normalize, src → dst
//   color         one workgroup per image: jitter ops in order + grayscale, src → dst; contrast
//                 needs the image mean, so ops before it run in a first sweep that also sums gray
// Record of image b (16 u32 words at rec[rec_base + 16·b]; f32 fields are bit-cast):
//   0 top, 1 left, 2 crop h, 3 crop w, 4 flip, 5 number of jitter ops, 6 op ids 4 bits each
//   (0 brightness, 1 contrast, 2 saturation, 3 hue; first op in the low bits), 7 grayscale,
//   8..11 factors (brightness, contrast, saturation, hue), 12 blur kernel size k (1: none),
//   13 word offset of the k blur weights in rec, 14 solarize, 15 unused.
// Bindings (group 0): 0 src (read), 1 rec (read), 2 dst (read_write), 3 params (uniform).
// Threads of the colour kernel: a multiple of 16 (its two-level sum).
override WORKGROUP_SIZE: u32 = 256;
override CHANNELS: u32 = 3;
// 0 bilinear, 1 bicubic.
override INTERP: u32 = 0;

const RECORD: u32 = 16u;
// Side of the 2-D workgroups of the per-pixel entry points (grid: x, y, image).
const TILE: u32 = 16u;
const OP_CONTRAST: u32 = 1u;

struct Params {
  batch: u32,
  in_h: u32,
  in_w: u32,
  out_h: u32,
  out_w: u32,
  rec_base: u32,
  threshold: f32,
  _pad: u32,
  mean: vec4f,
  stdev: vec4f,
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read> rec: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

var<workgroup> partial: array<f32, WORKGROUP_SIZE>;
var<workgroup> partial2: array<f32, 16>;

fn record(b: u32) -> u32 {
  return params.rec_base + b * RECORD;
}

fn recf(i: u32) -> f32 {
  return bitcast<f32>(rec[i]);
}

// ---- resized crop ------------------------------------------------------------------------------

struct Taps {
  i0: u32,
  i1: u32,
  lambda: f32,
}

fn linear_taps(o: u32, len_in: u32, len_out: u32) -> Taps {
  let scale = f32(len_in) / f32(len_out);
  let s = max((f32(o) + 0.5) * scale - 0.5, 0.0);
  let i0 = min(u32(floor(s)), len_in - 1u);
  let i1 = min(i0 + 1u, len_in - 1u);
  return Taps(i0, i1, s - f32(i0));
}

fn cubic1(x: f32) -> f32 {
  let a = -0.75;
  return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
}

fn cubic2(x: f32) -> f32 {
  let a = -0.75;
  return ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a;
}

fn cubic_weights(t: f32) -> vec4f {
  return vec4f(cubic2(t + 1.0), cubic1(t), cubic1(1.0 - t), cubic2(2.0 - t));
}

fn clamp_tap(i: i32, len: u32) -> u32 {
  return u32(clamp(i, 0, i32(len) - 1));
}

@compute @workgroup_size(TILE, TILE, 1)
fn resized_crop(@builtin(global_invocation_id) gid: vec3u) {
  let x = gid.x;
  let y = gid.y;
  let b = gid.z;
  if (x >= params.out_w || y >= params.out_h) {
    return;
  }
  let r = record(b);
  let top = rec[r];
  let left = rec[r + 1u];
  let ch = rec[r + 2u];
  let cw = rec[r + 3u];
  let xo = select(x, params.out_w - 1u - x, rec[r + 4u] != 0u);
  let in_plane = params.in_h * params.in_w;
  let out_plane = params.out_h * params.out_w;
  let base = b * CHANNELS * in_plane + top * params.in_w + left;
  let i = b * CHANNELS * out_plane + y * params.out_w + x;
  if (INTERP == 0u) {
    let ty = linear_taps(y, ch, params.out_h);
    let tx = linear_taps(xo, cw, params.out_w);
    let row0 = base + ty.i0 * params.in_w;
    let row1 = base + ty.i1 * params.in_w;
    for (var c = 0u; c < CHANNELS; c++) {
      let o = c * in_plane;
      // Rows first, then columns, as the fixture's separable reference.
      let c0 = (1.0 - ty.lambda) * src[o + row0 + tx.i0] + ty.lambda * src[o + row1 + tx.i0];
      let c1 = (1.0 - ty.lambda) * src[o + row0 + tx.i1] + ty.lambda * src[o + row1 + tx.i1];
      dst[i + c * out_plane] = (1.0 - tx.lambda) * c0 + tx.lambda * c1;
    }
    return;
  }
  let sy = (f32(y) + 0.5) * (f32(ch) / f32(params.out_h)) - 0.5;
  let sx = (f32(xo) + 0.5) * (f32(cw) / f32(params.out_w)) - 0.5;
  let fy = i32(floor(sy));
  let fx = i32(floor(sx));
  let wy = cubic_weights(sy - f32(fy));
  let wx = cubic_weights(sx - f32(fx));
  let rows = vec4u(clamp_tap(fy - 1, ch), clamp_tap(fy, ch), clamp_tap(fy + 1, ch),
    clamp_tap(fy + 2, ch)) * params.in_w;
  let cols = vec4u(clamp_tap(fx - 1, cw), clamp_tap(fx, cw), clamp_tap(fx + 1, cw),
    clamp_tap(fx + 2, cw));
  for (var c = 0u; c < CHANNELS; c++) {
    let o = base + c * in_plane;
    var acc = 0.0;
    for (var ky = 0u; ky < 4u; ky++) {
      let row = o + rows[ky];
      let taps = vec4f(src[row + cols.x], src[row + cols.y], src[row + cols.z], src[row + cols.w]);
      acc += wy[ky] * dot(wx, taps);
    }
    dst[i + c * out_plane] = acc;
  }
}

// ---- blur, solarize, normalize -----------------------------------------------------------------

// Mirror without repeating the edge (…, a2, a1 | a0, a1, a2, …); pads ≥ n fold again (rare:
// the modulo is slow on CPU adapters, so one fold is tried first).
fn reflect(i: i32, n: u32) -> u32 {
  let last = i32(n) - 1;
  var m = select(i, -i, i < 0);
  m = select(m, 2 * last - m, m > last);
  if (m >= 0 && m <= last) {
    return u32(m);
  }
  if (last == 0) {
    return 0u;
  }
  m = abs(i) % (2 * last);
  return u32(select(m, 2 * last - m, m > last));
}

@compute @workgroup_size(TILE, TILE, 1)
fn blur_rows(@builtin(global_invocation_id) gid: vec3u) {
  let x = gid.x;
  let w = params.out_w;
  if (x >= w || gid.y >= params.out_h) {
    return;
  }
  let plane = params.out_h * w;
  let row = gid.z * CHANNELS * plane + gid.y * w;
  let r = record(gid.z);
  let k = rec[r + 12u];
  let weights = rec[r + 13u];
  let x0 = i32(x) - i32(k / 2u);
  var acc = vec3f(0.0);
  if (k == 1u) {
    // Not blurred: a copy (half the images of a local view, 90% of global 2).
    acc = load3(row + x, plane);
  } else if (x0 >= 0 && x0 + i32(k) <= i32(w)) {
    // Interior: no reflection (the common case).
    let first = row + u32(x0);
    for (var j = 0u; j < k; j++) {
      acc += recf(weights + j) * load3(first + j, plane);
    }
  } else {
    for (var j = 0u; j < k; j++) {
      acc += recf(weights + j) * load3(row + reflect(x0 + i32(j), w), plane);
    }
  }
  store3(row + x, plane, acc);
}

@compute @workgroup_size(TILE, TILE, 1)
fn blur_cols(@builtin(global_invocation_id) gid: vec3u) {
  let x = gid.x;
  let y = gid.y;
  let w = params.out_w;
  let h = params.out_h;
  if (x >= w || y >= h) {
    return;
  }
  let plane = h * w;
  let column = gid.z * CHANNELS * plane + x;
  let r = record(gid.z);
  let k = rec[r + 12u];
  let weights = rec[r + 13u];
  let y0 = i32(y) - i32(k / 2u);
  var v = vec3f(0.0);
  if (k == 1u) {
    v = load3(column + y * w, plane);
  } else if (y0 >= 0 && y0 + i32(k) <= i32(h)) {
    let first = column + u32(y0) * w;
    for (var j = 0u; j < k; j++) {
      v += recf(weights + j) * load3(first + j * w, plane);
    }
  } else {
    for (var j = 0u; j < k; j++) {
      v += recf(weights + j) * load3(column + reflect(y0 + i32(j), h) * w, plane);
    }
  }
  if (rec[r + 14u] != 0u) {
    v = select(v, 1.0 - v, v >= vec3f(params.threshold));
  }
  store3(column + y * w, plane, (v - params.mean.xyz) / params.stdev.xyz);
}

// The CHANNELS values of one pixel (index i of channel 0, channel planes `plane` apart); the
// unused lanes of a 1-channel pixel hold copies.
fn load3(i: u32, plane: u32) -> vec3f {
  if (CHANNELS == 1u) {
    return vec3f(src[i]);
  }
  return vec3f(src[i], src[i + plane], src[i + 2u * plane]);
}

fn store3(i: u32, plane: u32, v: vec3f) {
  dst[i] = v.x;
  if (CHANNELS == 3u) {
    dst[i + plane] = v.y;
    dst[i + 2u * plane] = v.z;
  }
}

// ---- colour ------------------------------------------------------------------------------------

fn gray3(v: vec3f) -> f32 {
  return 0.299 * v.x + 0.587 * v.y + 0.114 * v.z;
}

fn gray_of(v: vec3f) -> f32 {
  if (CHANNELS == 1u) {
    return v.x;
  }
  return gray3(v);
}

fn rgb_to_hsv(c: vec3f) -> vec3f {
  let maxc = max(c.x, max(c.y, c.z));
  let minc = min(c.x, min(c.y, c.z));
  let cr = maxc - minc;
  if (cr == 0.0) {
    return vec3f(0.0, 0.0, maxc);
  }
  let s = cr / maxc;
  let rc = (maxc - c.x) / cr;
  let gc = (maxc - c.y) / cr;
  let bc = (maxc - c.z) / cr;
  var h: f32;
  if (maxc == c.x) {
    h = bc - gc;
  } else if (maxc == c.y) {
    h = 2.0 + rc - bc;
  } else {
    h = 4.0 + gc - rc;
  }
  let t = h / 6.0 + 1.0;
  return vec3f(t - floor(t), s, maxc);
}

fn hsv_to_rgb(hsv: vec3f) -> vec3f {
  let h6 = hsv.x * 6.0;
  let fi = floor(h6);
  let f = h6 - fi;
  let i = u32(fi) % 6u;
  let v = hsv.z;
  let s = hsv.y;
  let p = clamp(v * (1.0 - s), 0.0, 1.0);
  let q = clamp(v * (1.0 - s * f), 0.0, 1.0);
  let t = clamp(v * (1.0 - s * (1.0 - f)), 0.0, 1.0);
  switch i {
    case 0u: { return vec3f(v, t, p); }
    case 1u: { return vec3f(q, v, p); }
    case 2u: { return vec3f(p, v, t); }
    case 3u: { return vec3f(p, q, v); }
    case 4u: { return vec3f(t, p, v); }
    default: { return vec3f(v, p, q); }
  }
}

// One jitter op; saturation and hue are the identity on one channel (as in torchvision).
fn jitter_op(op: u32, f: f32, v: vec3f, mean: f32) -> vec3f {
  switch op {
    case 0u: {
      return clamp(f * v, vec3f(0.0), vec3f(1.0));
    }
    case 1u: {
      return clamp(f * v + (1.0 - f) * mean, vec3f(0.0), vec3f(1.0));
    }
    case 2u: {
      if (CHANNELS == 1u) { return v; }
      return clamp(f * v + (1.0 - f) * gray3(v), vec3f(0.0), vec3f(1.0));
    }
    default: {
      if (CHANNELS == 1u) { return v; }
      var hsv = rgb_to_hsv(v);
      let t = hsv.x + f;
      hsv.x = t - floor(t);
      return hsv_to_rgb(hsv);
    }
  }
}

fn load_dst(base: u32, plane: u32, p: u32) -> vec3f {
  if (CHANNELS == 1u) {
    return vec3f(dst[base + p]);
  }
  return vec3f(dst[base + p], dst[base + plane + p], dst[base + 2u * plane + p]);
}

// Applies the image's jitter ops first..last−1; the caller keeps contrast out of the range.
fn jitter_range(r: u32, v: vec3f, first: u32, last: u32) -> vec3f {
  var out = v;
  let order = rec[r + 6u];
  for (var k = first; k < last; k++) {
    let op = (order >> (4u * k)) & 15u;
    out = jitter_op(op, recf(r + 8u + op), out, 0.0);
  }
  return out;
}

fn finish_gray(r: u32, v: vec3f) -> vec3f {
  if (CHANNELS == 3u && rec[r + 7u] != 0u) {
    return vec3f(gray3(v));
  }
  return v;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn color(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(local_invocation_id) lid: vec3u,
  @builtin(num_workgroups) groups: vec3u,
) {
  let b = wid.x + wid.y * groups.x;
  if (b >= params.batch) {
    return;
  }
  let r = record(b);
  let plane = params.out_h * params.out_w;
  let base = b * CHANNELS * plane;
  let n_ops = rec[r + 5u];
  let order = rec[r + 6u];
  var contrast_at = n_ops;
  for (var k = 0u; k < n_ops; k++) {
    if (((order >> (4u * k)) & 15u) == OP_CONTRAST) {
      contrast_at = k;
    }
  }
  let has_contrast = contrast_at < n_ops;
  // Sweep 1: ops before contrast (all ops and grayscale when there is none), summing gray.
  // Each thread keeps to the same pixels in both sweeps, so no storage barrier is needed.
  var acc = 0.0;
  for (var p = lid.x; p < plane; p += WORKGROUP_SIZE) {
    var v = jitter_range(r, load3(base + p, plane), 0u, contrast_at);
    if (!has_contrast) {
      v = finish_gray(r, v);
    }
    acc += gray_of(v);
    store3(base + p, plane, v);
  }
  if (!has_contrast) {
    return;
  }
  // Two-level sum (barriers are costly on CPU adapters): 16 partial sums of 16, then every
  // thread adds the 16.
  partial[lid.x] = acc;
  workgroupBarrier();
  if (lid.x < 16u) {
    var s = 0.0;
    for (var j = 0u; j < WORKGROUP_SIZE / 16u; j++) {
      s += partial[lid.x * (WORKGROUP_SIZE / 16u) + j];
    }
    partial2[lid.x] = s;
  }
  workgroupBarrier();
  var total = 0.0;
  for (var j = 0u; j < 16u; j++) {
    total += partial2[j];
  }
  // Sweep 2: contrast with the image mean, the ops after it, grayscale.
  let mean = total / f32(plane);
  let f = recf(r + 8u + OP_CONTRAST);
  for (var p = lid.x; p < plane; p += WORKGROUP_SIZE) {
    var v = jitter_op(OP_CONTRAST, f, load_dst(base, plane, p), mean);
    v = finish_gray(r, jitter_range(r, v, contrast_at + 1u, n_ops));
    store3(base + p, plane, v);
  }
}
