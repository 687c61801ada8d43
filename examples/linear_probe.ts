// Run: deno run -A examples/linear_probe.ts
//      deno run -A examples/linear_probe.ts --checkpoint runs/synthetic/checkpoint.safetensors
//      deno run -A examples/linear_probe.ts --n_last_blocks 1 --avgpool --epochs 100
//
// Linear probe of frozen features (dino's eval_linear.py) on the synthetic shapes: the CLS
// tokens of the last n blocks (and optionally the mean patch token) are extracted once,
// standardised, and a linear classifier is trained on the GPU with SGD (momentum 0.9, cosine
// lr). Prints the test accuracy per epoch and the best top-1. Without --checkpoint the ViT is
// randomly initialised (chance is 12.5 % for the 8 shapes).
import { probeEmbedder, trainLinearProbe } from "../lib/eval/linear_probe.ts";
import {
  backboneOrHelp,
  EXAMPLE_OPTIONS,
  exampleHelp,
  parseFlags,
  splitFeatures,
  syntheticSplits,
} from "./backbone_args.ts";

const HELP = exampleHelp(
  "linear_probe",
  `  --train N           training images (default 256)
  --test N            test images (default 256)
  --n_last_blocks N   CLS tokens of the last N blocks are concatenated (default 4, capped at
                      the depth; dino: 4 for ViT-S, 1 for ViT-B)
  --avgpool           also append the mean patch token of the last block (dino: ViT-B)
  --epochs N          probe epochs (default 50)
  --lr X              peak learning rate, cosine to 0 (default 0.1)
  --probe_batch N     probe batch size (default 256)`,
);

const { values } = parseFlags({
  options: {
    ...EXAMPLE_OPTIONS,
    train: { type: "string", default: "512" },
    test: { type: "string", default: "256" },
    n_last_blocks: { type: "string", default: "4" },
    avgpool: { type: "boolean", default: false },
    epochs: { type: "string", default: "50" },
    lr: { type: "string", default: "0.1" },
    probe_batch: { type: "string", default: "256" },
  },
});
const vit = await backboneOrHelp(values, HELP);
const nLastBlocks = Math.min(Number(values.n_last_blocks), vit.config.depth);
const embed = probeEmbedder(vit, { nLastBlocks, avgPool: values.avgpool });
const splits = syntheticSplits(vit, Number(values.train), Number(values.test));
const { train, test, seconds } = await splitFeatures(splits, embed, Number(values.batch_size));
const extracted = performance.now();
console.log(
  `\rfeatures: CLS of the last ${nLastBlocks} blocks${values.avgpool ? " + mean patch" : ""}, ` +
    `D ${train.dim}; ${train.count} train + ${test.count} test, ` +
    `${seconds.toFixed(1)} s`,
);

const epochs = Number(values.epochs);
const result = await trainLinearProbe({
  trainFeatures: train.features,
  trainLabels: train.labels,
  testFeatures: test.features,
  testLabels: test.labels,
  numClasses: splits.train.numClasses,
  epochs,
  lr: Number(values.lr),
  batchSize: Number(values.probe_batch),
  onEpoch: ({ epoch, loss, top1, top5 }) => {
    if (epoch % 10 === 0 || epoch === epochs - 1) {
      console.log(
        `epoch ${String(epoch).padStart(3)}  loss ${loss.toFixed(4)}  ` +
          `top-1 ${top1.toFixed(2)} %  top-5 ${top5.toFixed(2)} %`,
      );
    }
  },
});
console.log(
  `best top-1 ${result.bestTop1.toFixed(2)} % at epoch ${result.bestEpoch} ` +
    `(probe ${((performance.now() - extracted) / 1000).toFixed(1)} s)`,
);
vit.dispose();
