// Run: deno run -A examples/knn.ts
//      deno run -A examples/knn.ts --checkpoint runs/synthetic/checkpoint.safetensors
//      deno run -A examples/knn.ts --train 2000 --test 1000 --ks 10,20,100,200
//
// Weighted k-NN evaluation of frozen CLS features (dino's eval_knn.py) on the synthetic shapes:
// features of a train split (the bank) and a test split, cosine similarity and top-k on the GPU,
// votes exp(sim / 0.07). Without --checkpoint the ViT is randomly initialised: its accuracy is
// the baseline that pretraining must beat (chance is 12.5 % for the 8 shapes).
import { clsEmbedder } from "../lib/eval/features.ts";
import { knnClassify } from "../lib/eval/knn.ts";
import {
  backboneOrHelp,
  EXAMPLE_OPTIONS,
  exampleHelp,
  parseFlags,
  splitFeatures,
  syntheticSplits,
} from "./backbone_args.ts";

const HELP = exampleHelp(
  "knn",
  `  --train N           training (bank) images (default 512)
  --test N            test images (default 256)
  --ks LIST           neighbour counts, comma-separated (default 10,20,100,200)
  --temperature T     vote temperature (default 0.07)`,
);

const { values } = parseFlags({
  options: {
    ...EXAMPLE_OPTIONS,
    train: { type: "string", default: "512" },
    test: { type: "string", default: "256" },
    ks: { type: "string", default: "10,20,100,200" },
    temperature: { type: "string", default: "0.07" },
  },
});
const vit = await backboneOrHelp(values, HELP);
const splits = syntheticSplits(vit, Number(values.train), Number(values.test));
const { train, test, seconds } = await splitFeatures(
  splits,
  clsEmbedder(vit),
  Number(values.batch_size),
);
const extracted = performance.now();
console.log(
  `\rfeatures: ${train.count} train + ${test.count} test, D ${train.dim}, ` +
    `${seconds.toFixed(1)} s`,
);

const results = await knnClassify({
  trainFeatures: train.features,
  trainLabels: train.labels,
  testFeatures: test.features,
  testLabels: test.labels,
  numClasses: splits.train.numClasses,
  ks: values.ks.split(",").map(Number),
  temperature: Number(values.temperature),
});
for (const { k, top1, top5 } of results) {
  console.log(
    `${String(k).padStart(4)}-NN  top-1 ${top1.toFixed(2)} %  top-5 ${top5.toFixed(2)} %`,
  );
}
console.log(`k-NN: ${((performance.now() - extracted) / 1000).toFixed(2)} s`);
vit.dispose();
