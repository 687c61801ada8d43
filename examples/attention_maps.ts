// Run: deno run -A examples/attention_maps.ts
//      deno run -A examples/attention_maps.ts --checkpoint runs/synthetic/checkpoint.safetensors
//      deno run -A examples/attention_maps.ts --n 512 --images 8 --keep 0.6 --output out/attention
//
// CLS self-attention maps of the last block (dino's visualize_attention.py) on the synthetic
// shapes: per-head heat maps and a mask overlay as PNGs for a few images, and the mean IoU of
// the attention masks (keeping 60 % of the attention mass) against the ground-truth foreground
// masks, for the mean over heads and the best head. A randomly initialised ViT gives the
// baseline; DINO's teacher should segment the shapes far better.
import { SyntheticShapes } from "../lib/data/synthetic.ts";
import { attentionIoU, clsAttention, saveAttentionPngs } from "../lib/eval/attention_maps.ts";
import { loadBatch } from "../lib/eval/features.ts";
import { fromArray } from "../lib/tensor/create.ts";
import { backboneOrHelp, EXAMPLE_OPTIONS, exampleHelp, parseFlags } from "./backbone_args.ts";

const HELP = exampleHelp(
  "attention_maps",
  `  --n N               images scored for the IoU (default 256)
  --images N          images drawn as PNGs (default 4)
  --keep X            share of the attention mass the masks keep (default 0.6)
  --scale N           PNG upscaling factor (default 4)
  --output DIR        where the PNGs go (default out/attention_maps)
  --data_seed N       seed of the synthetic images (default 1: not the pretraining images)`,
);

const { values } = parseFlags({
  options: {
    ...EXAMPLE_OPTIONS,
    n: { type: "string", default: "256" },
    images: { type: "string", default: "4" },
    keep: { type: "string", default: "0.6" },
    scale: { type: "string", default: "4" },
    output: { type: "string", default: "out/attention_maps" },
    data_seed: { type: "string", default: "1" },
  },
});
const vit = await backboneOrHelp(values, HELP);
const keep = Number(values.keep);
const n = Number(values.n);
const data = new SyntheticShapes({
  length: Math.max(n, Number(values.images)),
  size: vit.config.imgSize,
  seed: Number(values.data_seed),
});

// Pictures of the first few images.
const shown = Array.from({ length: Number(values.images) }, (_, i) => i);
if (shown.length > 0) {
  const batch = loadBatch(data, shown);
  const images = fromArray(batch.data, batch.shape);
  const maps = await clsAttention(vit, images);
  images.dispose();
  for (const i of shown) {
    const dir = `${values.output}/${String(i).padStart(3, "0")}-${
      data.classNames[data.get(i).label]
    }`;
    const paths = await saveAttentionPngs(dir, data.get(i), maps, i, {
      keep,
      scale: Number(values.scale),
    });
    console.log(`wrote ${paths.length} PNGs to ${dir}/`);
  }
}

// IoU of the attention masks against the foreground masks.
const start = performance.now();
const iou = await attentionIoU(vit, data, {
  keep,
  batchSize: Number(values.batch_size),
  indices: Array.from({ length: n }, (_, i) => i),
  onProgress: (done, total) =>
    Deno.stdout.writeSync(new TextEncoder().encode(`\rscoring ${done}/${total}`)),
});
console.log(
  `\rmean IoU over ${iou.count} images (masks keep ${keep * 100} % of the attention mass):`,
);
console.log(`  mean over heads  ${iou.meanHeads.toFixed(4)}`);
iou.perHead.forEach((v, h) =>
  console.log(`  head ${h}${h === iou.bestHead ? " (best)" : "       "}  ${v.toFixed(4)}`)
);
console.log(`scored in ${((performance.now() - start) / 1000).toFixed(1)} s`);
vit.dispose();
