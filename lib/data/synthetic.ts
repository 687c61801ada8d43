/**
 * The built-in dataset that needs no download: one coloured shape per image (disc, square,
 * triangle, ring, cross, diamond, star, crescent) at a random position, size, rotation and colour,
 * on a textured, noisy background, with its ground-truth foreground mask for scoring attention
 * maps.
 *
 * Every image is rendered on demand from `deriveSeed(seed, index)`: the dataset stores nothing,
 * any size works (32, 64, 224 px), and `get(i)` returns the same bytes on every call and platform.
 * Cost is about 10 operations per pixel (background, noise) plus 4 shape tests per pixel of the
 * shape's bounding box (2×2 supersampling for anti-aliased edges): a few hundred thousand 32×32
 * images per second on one core.
 *
 * @module
 */
import { checkIndex, type Dataset, deriveSeed, type Sample } from "./dataset.ts";
import { Rng } from "./rng.ts";

/**
 * Every shape the generator draws; the label of a shape is its index in the `shapes` option.
 *
 * @example
 * ```ts
 * import { SYNTHETIC_SHAPES } from "./synthetic.ts";
 * console.log(SYNTHETIC_SHAPES);
 * ```
 */
export const SYNTHETIC_SHAPES = [
  "disc",
  "square",
  "triangle",
  "ring",
  "cross",
  "diamond",
  "star",
  "crescent",
] as const;

/** A shape name, one of {@link SYNTHETIC_SHAPES}. */
export type ShapeName = typeof SYNTHETIC_SHAPES[number];

/** Background styles: a linear gradient, smooth value noise, stripes, or a checkerboard. */
export type BackgroundKind = "gradient" | "blobs" | "stripes" | "checker";

const BACKGROUNDS: readonly BackgroundKind[] = ["gradient", "blobs", "stripes", "checker"];

/** Options of {@link SyntheticShapes}. */
export interface SyntheticOptions {
  /** Number of images (default 10,000). */
  length?: number;
  /** Image size in pixels: a square side or `[height, width]` (default 32). */
  size?: number | readonly [number, number];
  /** Seed; the same seed gives the same images (default 0). */
  seed?: number;
  /** The classes, in label order (default: all of {@link SYNTHETIC_SHAPES}). */
  shapes?: readonly ShapeName[];
  /** Largest per-pixel noise amplitude, uniform noise in ±amplitude/2 (default 0.12). */
  noise?: number;
}

/** What image `i` shows: everything drawn, in pixels and radians. */
export interface ShapeSpec {
  /** The shape drawn. */
  shape: ShapeName;
  /** Its label (index in the dataset's `classNames`). */
  label: number;
  /** Centre x, in pixels from the left edge. */
  cx: number;
  /** Centre y, in pixels from the top edge. */
  cy: number;
  /** Radius of the shape's bounding circle, in pixels. */
  radius: number;
  /** Rotation, radians. */
  angle: number;
  /** Fill colour, RGB in [0, 1]. */
  color: [number, number, number];
  /** Background style. */
  background: BackgroundKind;
}

/** Inner radius of the star, between its points, relative to its outer radius. */
const STAR_INNER = 0.42;

/**
 * Area of each shape at radius 1 (a unit bounding circle), for checking masks: the mask of a shape
 * of radius r covers about `SHAPE_AREAS[shape] * r * r` pixels.
 *
 * @example
 * ```ts
 * import { SHAPE_AREAS } from "./synthetic.ts";
 * console.log(SHAPE_AREAS);
 * ```
 */
export const SHAPE_AREAS: Readonly<Record<ShapeName, number>> = Object.freeze({
  disc: Math.PI,
  square: 2,
  triangle: (3 * Math.sqrt(3)) / 4,
  ring: Math.PI * (1 - 0.55 * 0.55),
  cross: 2 * (0.6 * 1.8) - 0.6 * 0.6,
  diamond: 2,
  star: starArea(),
  crescent: crescentArea(),
});

type InsideFn = (u: number, v: number) => boolean;

const INSIDE: Record<ShapeName, InsideFn> = {
  disc: (u, v) => u * u + v * v <= 1,
  // Half-side 1/√2: corners on the unit circle, like every shape's extreme points.
  square: (u, v) => Math.abs(u) <= Math.SQRT1_2 && Math.abs(v) <= Math.SQRT1_2,
  // Equilateral, vertices (0, -1) and (±√3/2, 1/2): apex up before rotation.
  triangle: (u, v) => v <= 0.5 && Math.abs(u) * Math.sqrt(3) <= v + 1,
  ring: (u, v) => {
    const r2 = u * u + v * v;
    return r2 <= 1 && r2 >= 0.55 * 0.55;
  },
  cross: (u, v) => {
    const au = Math.abs(u), av = Math.abs(v);
    return (au <= 0.3 && av <= 0.9) || (av <= 0.3 && au <= 0.9);
  },
  diamond: (u, v) => Math.abs(u) + Math.abs(v) <= 1,
  star: (u, v) => {
    const r = Math.sqrt(u * u + v * v);
    if (r > 1) return false;
    if (r <= STAR_INNER) return true;
    return r <= starRadius(Math.atan2(v, u));
  },
  crescent: (u, v) => u * u + v * v <= 1 && (u - 0.45) * (u - 0.45) + v * v > 0.8 * 0.8,
};

/** Radius of the 5-pointed star's outline at angle `theta`: 1 at the points, 0.42 between. */
function starRadius(theta: number): number {
  const f = (theta * 5) / (2 * Math.PI);
  const tri = Math.abs(2 * (f - Math.floor(f)) - 1);
  return STAR_INNER + (1 - STAR_INNER) * tri;
}

function starArea(): number {
  // R is linear in θ on each of 10 half-petals of width π/5: ∫ R²/2 = (π/5)/2 · (a² + ab + b²) / 3 · 10.
  const a = STAR_INNER, b = 1;
  return ((10 * Math.PI) / 5 / 2) * (a * a + a * b + b * b) / 3;
}

function crescentArea(): number {
  // Unit disc minus its overlap with the disc of radius 0.8 centred at (0.45, 0).
  const d = 0.45, r1 = 1, r2 = 0.8;
  const a1 = r1 * r1 * Math.acos((d * d + r1 * r1 - r2 * r2) / (2 * d * r1));
  const a2 = r2 * r2 * Math.acos((d * d + r2 * r2 - r1 * r1) / (2 * d * r2));
  const k = 0.5 * Math.sqrt((-d + r1 + r2) * (d + r1 - r2) * (d - r1 + r2) * (d + r1 + r2));
  return Math.PI - (a1 + a2 - k);
}

/** Rotation range per shape (radians, ±): symmetric shapes need none, square vs diamond ±15°. */
const ANGLE_RANGE: Record<ShapeName, number> = {
  disc: 0,
  ring: 0,
  square: Math.PI / 12,
  cross: Math.PI / 12,
  diamond: Math.PI / 12,
  triangle: Math.PI,
  star: Math.PI,
  crescent: Math.PI,
};

/**
 * Procedurally generated coloured shapes with foreground masks: a {@link Dataset} of 3-channel
 * images, labels balanced (`label = i mod numClasses`), deterministic from `seed`.
 *
 * @example
 * ```ts
 * import { SyntheticShapes } from "./synthetic.ts";
 * const ds = new SyntheticShapes({ length: 1000, size: 32, seed: 0 });
 * const { image, mask, label } = ds.get(0); // image: 3×32×32 floats, mask: 32×32 bytes
 * console.log(ds.classNames[label], mask!.reduce((a, b) => a + b, 0) > 0); // "disc" true
 * ```
 */
export class SyntheticShapes implements Dataset {
  /** Number of images. */
  readonly length: number;
  /** Image height. */
  readonly height: number;
  /** Image width. */
  readonly width: number;
  /** Always 3 (RGB). */
  readonly channels: number = 3;
  /** Number of classes (shapes). */
  readonly numClasses: number;
  /** The shape names, in label order. */
  readonly classNames: readonly string[];
  /** The seed. */
  readonly seed: number;
  readonly #shapes: readonly ShapeName[];
  readonly #noise: number;

  /** A dataset of `length` images of `size` pixels drawn from `seed`. */
  constructor(options: SyntheticOptions = {}) {
    const length = options.length ?? 10_000;
    const [height, width] = typeof options.size === "number" || options.size === undefined
      ? [options.size ?? 32, options.size ?? 32]
      : options.size;
    if (!Number.isInteger(length) || length < 0) {
      throw new RangeError(`Cannot create SyntheticShapes of length ${length}: use an integer ≥ 0`);
    }
    for (const side of [height, width]) {
      if (!Number.isInteger(side) || side < 8) {
        throw new RangeError(
          `Cannot create SyntheticShapes of size ${height}×${width}: sides must be integers ≥ 8`,
        );
      }
    }
    const shapes = options.shapes ?? SYNTHETIC_SHAPES;
    if (shapes.length === 0) throw new RangeError("Cannot create SyntheticShapes with no shapes");
    for (const s of shapes) {
      if (!(s in INSIDE)) {
        throw new RangeError(
          `Cannot create SyntheticShapes with shape "${s}": use one of ${
            SYNTHETIC_SHAPES.join(", ")
          }`,
        );
      }
    }
    this.length = length;
    this.height = height;
    this.width = width;
    this.seed = options.seed ?? 0;
    this.#shapes = Object.freeze([...shapes]);
    this.#noise = options.noise ?? 0.12;
    this.numClasses = shapes.length;
    this.classNames = this.#shapes;
  }

  /** What image `i` shows (shape, position, size, rotation, colour), without rendering it. */
  describe(i: number): ShapeSpec {
    checkIndex(i, this.length, "SyntheticShapes");
    return this.#spec(i, new Rng(deriveSeed(this.seed, i)));
  }

  /** Image `i` (3×H×W floats in [0, 1]), its label and its foreground mask (H×W, 0/1). */
  get(i: number): Sample {
    checkIndex(i, this.length, "SyntheticShapes");
    const { height: h, width: w } = this;
    const image = new Float32Array(3 * h * w);
    const mask = new Uint8Array(h * w);
    const rng = new Rng(deriveSeed(this.seed, i));
    const spec = this.#spec(i, rng);
    this.#background(rng, spec, image);
    drawShape(spec, image, mask, h, w);
    addNoise(rng, this.#noise, image);
    return { image, channels: 3, height: h, width: w, label: spec.label, mask };
  }

  #spec(i: number, rng: Rng): ShapeSpec {
    const label = i % this.#shapes.length;
    const shape = this.#shapes[label];
    const side = Math.min(this.height, this.width);
    const radius = side * rng.range(0.22, 0.4);
    const cx = rng.range(radius, this.width - radius);
    const cy = rng.range(radius, this.height - radius);
    const angle = rng.range(-1, 1) * ANGLE_RANGE[shape];
    const color = hsvToRgb(rng.uniform(), rng.range(0.6, 1), rng.range(0.6, 1));
    const background = BACKGROUNDS[rng.int(BACKGROUNDS.length)];
    return { shape, label, cx, cy, radius, angle, color, background };
  }

  #background(rng: Rng, spec: ShapeSpec, image: Float32Array): void {
    const { height: h, width: w } = this;
    const hw = h * w;
    // Contrast with the shape: a dark background behind a bright shape and vice versa.
    const luma = 0.299 * spec.color[0] + 0.587 * spec.color[1] + 0.114 * spec.color[2];
    const [lo, hi] = luma > 0.45 ? [0.05, 0.35] : [0.6, 0.95];
    const c0 = hsvToRgb(rng.uniform(), rng.range(0, 0.4), rng.range(lo, hi));
    const c1 = hsvToRgb(rng.uniform(), rng.range(0, 0.4), rng.range(lo, hi));
    const theta = rng.range(0, 2 * Math.PI);
    const ct = Math.cos(theta), st = Math.sin(theta);
    const side = Math.max(h, w);
    const t = new Float32Array(hw); // mixing weight of c1 per pixel
    // Every pattern is separable or linear in x: per-column and per-row tables keep the
    // per-pixel work to a few adds (no sin/floor per pixel).
    switch (spec.background) {
      case "gradient": {
        const inv = 1 / (side * Math.SQRT2);
        for (let y = 0, p = 0; y < h; y++) {
          let v = 0.5 + ((0.5 - w / 2) * ct + (y + 0.5 - h / 2) * st) * inv;
          for (let x = 0; x < w; x++, p++, v += ct * inv) t[p] = v;
        }
        break;
      }
      case "stripes": {
        // sin(a + b) = sin a cos b + cos a sin b, with a per row and b per column.
        const k = (2 * Math.PI * rng.range(2, 7)) / side;
        const phase = rng.range(0, 2 * Math.PI);
        const sinB = new Float32Array(w), cosB = new Float32Array(w);
        for (let x = 0; x < w; x++) {
          sinB[x] = Math.sin(k * x * ct);
          cosB[x] = Math.cos(k * x * ct);
        }
        for (let y = 0, p = 0; y < h; y++) {
          const sa = 0.5 * Math.sin(k * y * st + phase), ca = 0.5 * Math.cos(k * y * st + phase);
          for (let x = 0; x < w; x++, p++) t[p] = 0.5 + sa * cosB[x] + ca * sinB[x];
        }
        break;
      }
      case "checker": {
        const cell = side / rng.range(3, 9);
        const ox = rng.range(0, cell), oy = rng.range(0, cell);
        const col = new Uint8Array(w);
        for (let x = 0; x < w; x++) col[x] = Math.floor((x + ox) / cell) & 1;
        for (let y = 0, p = 0; y < h; y++) {
          const ry = Math.floor((y + oy) / cell) & 1;
          for (let x = 0; x < w; x++, p++) t[p] = col[x] ^ ry;
        }
        break;
      }
      case "blobs": {
        // Value noise: a (g+1)² grid of random weights, bilinearly interpolated.
        const g = 2 + rng.int(4);
        const grid = new Float32Array((g + 1) * (g + 1));
        for (let k = 0; k < grid.length; k++) grid[k] = rng.uniform();
        const ix = new Int32Array(w), fx = new Float32Array(w);
        for (let x = 0; x < w; x++) {
          const gx = ((x + 0.5) * g) / w;
          ix[x] = Math.min(Math.floor(gx), g - 1);
          fx[x] = gx - ix[x];
        }
        const row = new Float32Array(g + 1);
        for (let y = 0, p = 0; y < h; y++) {
          const gy = ((y + 0.5) * g) / h;
          const iy = Math.min(Math.floor(gy), g - 1), fy = gy - iy;
          for (let j = 0; j <= g; j++) {
            const k = iy * (g + 1) + j;
            row[j] = grid[k] + (grid[k + g + 1] - grid[k]) * fy;
          }
          for (let x = 0; x < w; x++, p++) {
            const j = ix[x];
            t[p] = row[j] + (row[j + 1] - row[j]) * fx[x];
          }
        }
        break;
      }
    }
    const [a0, a1, a2] = c0;
    const d0 = c1[0] - a0, d1 = c1[1] - a1, d2 = c1[2] - a2;
    for (let p = 0; p < hw; p++) {
      const tp = t[p];
      image[p] = a0 + d0 * tp;
      image[hw + p] = a1 + d1 * tp;
      image[2 * hw + p] = a2 + d2 * tp;
    }
  }
}

/**
 * Draws the shape, anti-aliased. The mask is the shape tested at pixel centres. Pixels whose
 * centre agrees with its 4 neighbours' are taken as fully in or out; only the others (the
 * outline, O(r) of the O(r²) pixels) get 2×2 supersampling. Features here are ≥ 0.3 r wide
 * (≥ 2 px at 32 px), so no part of a shape falls between centres.
 */
function drawShape(
  spec: ShapeSpec,
  image: Float32Array,
  mask: Uint8Array,
  h: number,
  w: number,
): void {
  const inside = INSIDE[spec.shape];
  const { cx, cy, radius } = spec;
  const inv = 1 / radius;
  const ca = Math.cos(spec.angle) * inv, sa = Math.sin(spec.angle) * inv;
  const x0 = Math.max(0, Math.floor(cx - radius - 1)), x1 = Math.min(w, Math.ceil(cx + radius + 1));
  const y0 = Math.max(0, Math.floor(cy - radius - 1)), y1 = Math.min(h, Math.ceil(cy + radius + 1));
  // Shape-local coordinates of pixel (x, y)'s point (x + ox, y + oy): u = dx·ca + dy·sa,
  // v = −dx·sa + dy·ca with dx, dy the offsets from the centre (ca, sa already divided by r).
  for (let y = y0; y < y1; y++) {
    const dy = y + 0.5 - cy;
    let u = (x0 + 0.5 - cx) * ca + dy * sa;
    let v = -(x0 + 0.5 - cx) * sa + dy * ca;
    for (let x = x0; x < x1; x++, u += ca, v -= sa) {
      if (inside(u, v)) mask[y * w + x] = 1;
    }
  }
  const hw = h * w;
  const [r, g, b] = spec.color;
  // Offsets of the 4 subsamples (pixel centre ± 1/4) in shape-local units.
  const du = 0.25 * (ca + sa), dv = 0.25 * (ca - sa);
  for (let y = y0; y < y1; y++) {
    const dy = y + 0.5 - cy;
    for (let x = x0; x < x1; x++) {
      const p = y * w + x;
      const c = mask[p];
      const edge = (x > 0 && mask[p - 1] !== c) || (x + 1 < w && mask[p + 1] !== c) ||
        (y > 0 && mask[p - w] !== c) || (y + 1 < h && mask[p + w] !== c);
      let a: number;
      if (!edge) {
        if (c === 0) continue;
        a = 1;
      } else {
        const dx = x + 0.5 - cx;
        const u = dx * ca + dy * sa, v = -dx * sa + dy * ca;
        // (±1/4, ±1/4) rotated: (−,−) → (−du, −dv)… with du = (ca+sa)/4, dv = (ca−sa)/4.
        let hits = 0;
        if (inside(u - du, v - dv)) hits++;
        if (inside(u + dv, v - du)) hits++;
        if (inside(u - dv, v + du)) hits++;
        if (inside(u + du, v + dv)) hits++;
        if (hits === 0) continue;
        a = hits / 4;
      }
      image[p] += (r - image[p]) * a;
      image[hw + p] += (g - image[hw + p]) * a;
      image[2 * hw + p] += (b - image[2 * hw + p]) * a;
    }
  }
}

/** Adds uniform noise of a per-image amplitude in [0.2, 1]·`max`, then clamps to [0, 1]. */
function addNoise(rng: Rng, max: number, image: Float32Array): void {
  const amp = max * rng.range(0.2, 1);
  // xorshift32 per pixel: a full Rng draw per value would cost ~3× as much and gain nothing here.
  let s = rng.nextU32() | 1;
  const scale = amp / 4294967296;
  for (let p = 0; p < image.length; p++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const v = image[p] + ((s >>> 0) * scale - amp / 2);
    image[p] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
}

function hsvToRgb(hue: number, sat: number, val: number): [number, number, number] {
  const h6 = hue * 6;
  const i = Math.floor(h6) % 6;
  const f = h6 - Math.floor(h6);
  const p = val * (1 - sat), q = val * (1 - f * sat), t = val * (1 - (1 - f) * sat);
  switch (i) {
    case 0:
      return [val, t, p];
    case 1:
      return [q, val, p];
    case 2:
      return [p, val, t];
    case 3:
      return [p, q, val];
    case 4:
      return [t, p, val];
    default:
      return [val, p, q];
  }
}
