/**
 * A line plot of a training curve as an RGBA picture (write it with `encodePng`): no fonts, just
 * the curve, a frame, and grid lines at round values, for `loss_curve.png` beside the log.
 *
 * @module
 */
import type { RgbaImage } from "./png.ts";

/** Options of {@link linePlot}. */
export interface LinePlotOptions {
  /** Picture width in pixels (default 640). */
  width?: number;
  /** Picture height in pixels (default 360). */
  height?: number;
  /** Curve colour, RGB (default a dark blue). */
  color?: [number, number, number];
}

/**
 * Plots `ys` against `xs` (both finite, same length ≥ 1), axes scaled to the data with a 5 %
 * margin; horizontal grid lines mark every power-of-ten step of y.
 *
 * @example
 * ```ts
 * import { linePlot } from "./plot.ts";
 * const picture = linePlot([0, 1, 2], [3, 2, 1.5]);
 * console.log(picture.width, picture.height); // 640 360
 * ```
 */
export function linePlot(
  xs: readonly number[],
  ys: readonly number[],
  options: LinePlotOptions = {},
): RgbaImage {
  const width = options.width ?? 640;
  const height = options.height ?? 360;
  const [r, g, b] = options.color ?? [31, 70, 160];
  const rgba = new Uint8ClampedArray(width * height * 4).fill(255);
  const set = (x: number, y: number, c: [number, number, number]) => {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    const i = 4 * (Math.round(y) * width + Math.round(x));
    rgba[i] = c[0];
    rgba[i + 1] = c[1];
    rgba[i + 2] = c[2];
  };
  if (xs.length !== ys.length || xs.length === 0) {
    throw new RangeError(`Cannot plot ${xs.length} x values against ${ys.length} y values`);
  }
  const pad = 20;
  const span = (v: readonly number[]) => {
    const lo = Math.min(...v);
    const hi = Math.max(...v);
    const m = (hi - lo) * 0.05 || Math.abs(lo) * 0.05 || 1;
    return [lo - m, hi + m];
  };
  const [x0, x1] = span(xs);
  const [y0, y1] = span(ys);
  const px = (x: number) => pad + ((x - x0) / (x1 - x0)) * (width - 2 * pad);
  const py = (y: number) => height - pad - ((y - y0) / (y1 - y0)) * (height - 2 * pad);
  const step = 10 ** Math.floor(Math.log10(y1 - y0));
  for (let v = Math.ceil(y0 / step) * step; v <= y1; v += step) {
    for (let x = pad; x < width - pad; x += 2) set(x, py(v), [220, 220, 220]);
  }
  for (let x = pad; x <= width - pad; x++) {
    set(x, pad, [0, 0, 0]);
    set(x, height - pad, [0, 0, 0]);
  }
  for (let y = pad; y <= height - pad; y++) {
    set(pad, y, [0, 0, 0]);
    set(width - pad, y, [0, 0, 0]);
  }
  for (let i = 0; i < xs.length; i++) {
    const [ax, ay] = [px(xs[i]), py(ys[i])];
    const [bx, by] = i + 1 < xs.length ? [px(xs[i + 1]), py(ys[i + 1])] : [ax, ay];
    const n = Math.max(1, Math.ceil(Math.hypot(bx - ax, by - ay)));
    for (let t = 0; t <= n; t++) {
      const x = ax + ((bx - ax) * t) / n;
      const y = ay + ((by - ay) * t) / n;
      set(x, y, [r, g, b]);
      set(x, y + 1, [r, g, b]);
    }
  }
  return { width, height, rgba };
}
