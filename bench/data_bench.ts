// Run: deno bench -A bench/data_bench.ts
//
// CPU data pipeline, no GPU: synthetic shape generation (img/s at 32 and 224 px), a Fashion-MNIST
// load (gunzip + validation of 47 MB of train images + labels), and batch assembly by the loader.
// Napkin math: a 32×32 synthetic image is ~3k pixel values (background, noise) plus the shape's
// outline; at 224 px, 150k values. A training step of fmnist-tiny (batch 256, 28² px) needs 256
// images, so generation must stay far above 256 / step time (≈ 1 s on lavapipe) img/s.
import { loadFashionMnist } from "../lib/data/idx.ts";
import { DataLoader } from "../lib/data/loader.ts";
import { SyntheticShapes } from "../lib/data/synthetic.ts";

const small = new SyntheticShapes({ length: 1000, size: 32 });
const large = new SyntheticShapes({ length: 20, size: 224 });

function rate(ds: SyntheticShapes): string {
  const t0 = performance.now();
  for (let i = 0; i < ds.length; i++) ds.get(i);
  return `${((ds.length * 1000) / (performance.now() - t0)).toFixed(0)} img/s`;
}
console.log(`synthetic 32 px: ${rate(small)}; 224 px: ${rate(large)}`);

Deno.bench({
  name: "synthetic 1000 × 32 px",
  group: "synthetic",
  n: 5,
  fn() {
    for (let i = 0; i < small.length; i++) small.get(i);
  },
});

Deno.bench({
  name: "synthetic 20 × 224 px",
  group: "synthetic",
  n: 5,
  fn() {
    for (let i = 0; i < large.length; i++) large.get(i);
  },
});

Deno.bench({
  name: "Fashion-MNIST train load (gzip IDX, 60000 × 28²)",
  group: "idx",
  n: 2,
  async fn() {
    await loadFashionMnist({ split: "train" });
  },
});

const fmnist = await loadFashionMnist({ split: "test" });
Deno.bench({
  name: "loader: Fashion-MNIST batches 256 × 1 × 28² (host, shuffled)",
  group: "loader",
  n: 3,
  async fn() {
    const loader = new DataLoader(fmnist, { batchSize: 256, dropLast: true });
    for await (const _ of loader.hostBatches(0)) { /* 39 batches */ }
  },
});
