// Run: deno task pretrain                                    (synthetic shapes, a few minutes on a CPU)
//      deno task pretrain --preset fmnist-tiny --output_dir runs/fmnist   (Fashion-MNIST, protocol 10k-15)
//      deno task pretrain --dataset folder --data_path ~/images --preset dino-vits16   (real GPU)
//      deno task pretrain --output_dir runs/synthetic --resume   (continue an interrupted run)
//      deno task pretrain --eval_only --pretrained_weights runs/fmnist/checkpoint0005.safetensors
//      deno task pretrain --help
//
// DINO pretraining as main_dino.py: same flag names and defaults (through --preset), a progress
// bar on a terminal, a JSONL log, a loss-curve PNG and an atomic checkpoint every epoch in
// --output_dir, --resume, and Ctrl-C saves before exiting. At the end the teacher backbone is
// evaluated on frozen features: k-NN, linear probe and (synthetic shapes) attention-mask IoU.
import {
  buildDinoModel,
  checkpointPath,
  type Dataset,
  type DinoConfig,
  encodePng,
  evaluateBackbone,
  evaluateEmbedders,
  FASHION_MNIST_MEAN,
  FASHION_MNIST_STD,
  getGpu,
  ImageFolder,
  linePlot,
  loadFashionMnist,
  NonFiniteLossError,
  pixelEmbedder,
  PRESETS,
  pretrain,
  type Progress,
  readCheckpoint,
  subset,
  SyntheticShapes,
  type VisionTransformer,
} from "../mod.ts";
import { basename } from "@std/path";
import { parseFlags } from "./backbone_args.ts";

const FLAGS: Record<string, [string, keyof DinoConfig | null]> = {
  arch: ["vit_tiny | vit_small | vit_base", "arch"],
  patch_size: ["patch size in pixels", "patchSize"],
  out_dim: ["prototypes K of the DINO head", "outDim"],
  norm_last_layer: ["freeze weight_g of the last layer at 1 (true/false)", "normLastLayer"],
  momentum_teacher: ["base teacher EMA momentum (cosine to 1)", "momentumTeacher"],
  warmup_teacher_temp: ["initial teacher temperature", "warmupTeacherTemp"],
  teacher_temp: ["final teacher temperature (≤ 0.07 advised)", "teacherTemp"],
  warmup_teacher_temp_epochs: ["epochs of teacher temperature warm-up", "warmupTeacherTempEpochs"],
  weight_decay: ["initial weight decay", "weightDecay"],
  weight_decay_end: ["final weight decay (cosine)", "weightDecayEnd"],
  clip_grad: ["per-parameter gradient clip norm (0: off)", "clipGrad"],
  batch_size: ["images per step", "batchSize"],
  epochs: ["training epochs", "epochs"],
  freeze_last_layer: ["epochs with the last layer frozen", "freezeLastLayer"],
  lr: ["peak learning rate at batch 256 (scaled by batch/256)", "lr"],
  warmup_epochs: ["epochs of linear lr warm-up", "warmupEpochs"],
  min_lr: ["final learning rate (cosine)", "minLr"],
  global_crops_scale: ["area range of global crops, e.g. 0.4,1", "globalCropsScale"],
  local_crops_number: ["number of local crops", "localCropsNumber"],
  local_crops_scale: ["area range of local crops, e.g. 0.05,0.4", "localCropsScale"],
  drop_path_rate: ["stochastic depth of the student", "dropPathRate"],
  seed: ["seed of init, data order and augmentation", "seed"],
  data_path: ["dataset directory (IDX files or an image folder)", null],
  output_dir: ["where checkpoints, log.jsonl and loss_curve.png go", null],
  saveckp_freq: ["also keep checkpoint<epoch>.safetensors every N epochs (0: never)", null],
  dataset: ["synthetic | fashion-mnist | folder", null],
  preset: [`named config: ${Object.keys(PRESETS).join(" | ")}`, null],
  train_images: ["use the first N training images", null],
  eval_images: ["test images for the evaluation", null],
  probe_epochs: ["linear-probe epochs (0: skip the probe)", null],
  log_every: ["read the loss back every N steps", null],
  img_size: ["resize folder images to this side before cropping", null],
  pretrained_weights: ["with --eval_only: the checkpoint to evaluate", null],
  tune_matmul: ["time the matmul kernels on the first step, keep the fastest (true/false)", null],
};

const { values } = parseFlags({
  options: {
    ...Object.fromEntries(Object.keys(FLAGS).map((k) => [k, { type: "string" as const }])),
    resume: { type: "boolean", default: false },
    no_eval: { type: "boolean", default: false },
    eval_only: { type: "boolean", default: false },
    eval_pixels: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
const flag = (name: string) => values[name] as string | undefined;
if (flag("pretrained_weights") && !values.eval_only) {
  console.error("--pretrained_weights only applies with --eval_only");
  Deno.exit(2);
}
const presetName = flag("preset") ?? "synthetic-tiny";
const preset = PRESETS[presetName];
if (!preset) {
  console.error(`Unknown --preset ${presetName}: use ${Object.keys(PRESETS).join(", ")}`);
  Deno.exit(2);
}

if (values.help) {
  const defaults: Record<string, unknown> = {
    ...preset.config,
    dataset: preset.dataset,
    preset: presetName,
    data_path: "(dataset default)",
    output_dir: "runs/<preset>",
    saveckp_freq: 0,
    train_images: preset.trainImages ?? "all",
    eval_images: 2000,
    probe_epochs: 30,
    log_every: 10,
    img_size: "global size × 8/7",
    pretrained_weights: "<output_dir>/checkpoint.safetensors",
    tune_matmul: "true on a GPU, false on a CPU adapter",
  };
  console.log(
    `Usage: deno run -A examples/pretrain.ts [flags]\n\nDINO pretraining (flags as main_dino.py).\n`,
  );
  for (const [name, [help, key]] of Object.entries(FLAGS)) {
    const value = key ? preset.config[key] : defaults[name];
    console.log(
      `  --${name.padEnd(27)} ${help} (default: ${Array.isArray(value) ? value.join(",") : value})`,
    );
  }
  console.log(`  --${"resume".padEnd(27)} continue from <output_dir>/checkpoint.safetensors`);
  console.log(`  --${"no_eval".padEnd(27)} skip the evaluation after training`);
  console.log(
    `  --${
      "eval_only".padEnd(27)
    } only evaluate the teacher of <output_dir>'s checkpoint (random init without one)`,
  );
  console.log(
    `  --${"eval_pixels".padEnd(27)} only evaluate raw pixels (the baseline row of RESULTS.md)`,
  );
  console.log(`  --${"help".padEnd(27)} show this help`);
  Deno.exit(0);
}

const isTrue = (raw: string) => /^(1|true|yes|on)$/i.test(raw);

function parseValue(key: keyof DinoConfig, raw: string): unknown {
  const current = preset.config[key];
  if (typeof current === "boolean") return isTrue(raw);
  if (typeof current === "number") {
    const n = Number(raw);
    if (!Number.isFinite(n)) throw new RangeError(`--${key}: ${raw} is not a number`);
    return n;
  }
  if (Array.isArray(current)) return raw.split(/[ ,]+/).map(Number);
  return raw;
}

const config: DinoConfig = { ...preset.config };
for (const [name, [, key]] of Object.entries(FLAGS)) {
  const raw = flag(name);
  if (key && raw !== undefined) {
    (config as unknown as Record<string, unknown>)[key] = parseValue(key, raw);
  }
}
if (config.warmupEpochs > config.epochs) {
  console.error(
    `--warmup_epochs ${config.warmupEpochs} exceeds --epochs ${config.epochs}: ` +
      "the learning-rate warm-up must fit in the run",
  );
  Deno.exit(2);
}
const augment = {
  ...preset.augment,
  globalCropsScale: config.globalCropsScale,
  localCropsScale: config.localCropsScale,
  localCropsNumber: config.localCropsNumber,
};
const outputDir = flag("output_dir") ?? `runs/${presetName}`;
const datasetKind = flag("dataset") ?? preset.dataset;
const trainImages = flag("train_images") ? Number(flag("train_images")) : preset.trainImages;
const evalImages = Number(flag("eval_images") ?? 2000);

async function datasets(): Promise<
  { train: Dataset; test: Dataset; mean: number[]; std: number[] }
> {
  if (datasetKind === "synthetic") {
    const size = config.globalSize;
    return {
      train: new SyntheticShapes({ length: trainImages ?? 2048, size, seed: config.seed }),
      test: new SyntheticShapes({ length: evalImages, size, seed: config.seed + 1_000_003 }),
      mean: augment.mean,
      std: augment.std,
    };
  }
  if (datasetKind === "fashion-mnist") {
    const dir = flag("data_path");
    const train = await loadFashionMnist({
      split: "train",
      dir,
      channels: config.inChans as 1 | 3,
    });
    const test = await loadFashionMnist({ split: "test", dir, channels: config.inChans as 1 | 3 });
    const first = (ds: Dataset, n?: number) =>
      n && n < ds.length ? subset(ds, Array.from({ length: n }, (_, i) => i)) : ds;
    const mean = new Array(config.inChans).fill(FASHION_MNIST_MEAN);
    const std = new Array(config.inChans).fill(FASHION_MNIST_STD);
    return { train: first(train, trainImages), test: first(test, evalImages), mean, std };
  }
  if (datasetKind === "folder") {
    const root = flag("data_path");
    if (!root) throw new RangeError("--dataset folder needs --data_path <root>/<class>/<image>");
    const folder = await ImageFolder.open(root, {
      skipCorrupt: true,
      channels: config.inChans as 1 | 3,
    });
    if (folder.skipped) console.warn(`skipped ${folder.skipped} corrupt image(s)`);
    return { train: folder, test: folder, mean: augment.mean, std: augment.std };
  }
  throw new RangeError(`Unknown --dataset ${datasetKind}: use synthetic, fashion-mnist or folder`);
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "--:--";
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

const tty = Deno.stdout.isTerminal();
function report(p: Progress): void {
  const inEpoch = (p.iteration % p.itersPerEpoch) + 1;
  const fields = `epoch ${p.epoch + 1}/${config.epochs} step ${inEpoch}/${p.itersPerEpoch} | ` +
    `${p.imagesPerSecond.toFixed(1)} img/s | loss ${p.loss.toFixed(4)} | lr ${
      p.lr.toExponential(2)
    } | ` +
    `wd ${p.wd.toFixed(3)} | m ${p.momentum.toFixed(4)} | ETA ${formatDuration(p.etaSeconds)}`;
  if (tty) {
    const done = Math.round((20 * (p.iteration + 1)) / p.totalIterations);
    const bar = `[${"#".repeat(done)}${".".repeat(20 - done)}]`;
    Deno.stdout.writeSync(new TextEncoder().encode(`\r${bar} ${fields}\x1b[K`));
  } else {
    console.log(fields);
  }
}

const gpu = await getGpu();
const { train, test, mean, std } = await datasets();
console.log(`adapter: ${gpu.describe().description}`);
console.log(
  `preset ${presetName}: ${config.arch}/${config.patchSize} D=${
    config.embedDim ?? "preset"
  } depth=${config.depth ?? "preset"}, ` +
    `${train.length} ${datasetKind} images, batch ${config.batchSize}, ${config.epochs} epochs, ` +
    `crops 2×${config.globalSize} + ${config.localCropsNumber}×${config.localSize} px → ${outputDir}`,
);

async function evaluate(what: VisionTransformer | "pixels", suffix = ""): Promise<void> {
  const options = {
    train,
    test,
    numClasses: train.numClasses,
    mean,
    std,
    probeEpochs: Number(flag("probe_epochs") ?? 30),
    onStatus: (s: string) =>
      console.log(`evaluating ${what === "pixels" ? "raw pixels" : "the teacher"}: ${s}…`),
  };
  const evaluation = what === "pixels"
    ? { ...await evaluateEmbedders(pixelEmbedder(), pixelEmbedder(), options), attention: null }
    : await evaluateBackbone(what, options);
  const knn = evaluation.knn.map((r) =>
    `${r.k}-NN top-1 ${r.top1.toFixed(2)} % (top-5 ${r.top5.toFixed(2)} %)`
  );
  console.log(`k-NN: ${knn.join("; ")}`);
  if (evaluation.linearTop1 !== null) {
    console.log(`linear probe: best top-1 ${evaluation.linearTop1.toFixed(2)} %`);
  }
  if (evaluation.attention) {
    const a = evaluation.attention;
    console.log(
      `attention-mask IoU: mean of heads ${a.meanHeads.toFixed(3)}, best head ${a.bestHead} ${
        a.bestHeadIoU.toFixed(3)
      }`,
    );
  }
  await Deno.mkdir(outputDir, { recursive: true });
  const name = what === "pixels" ? "eval_pixels.json" : `eval${suffix}.json`;
  await Deno.writeTextFile(`${outputDir}/${name}`, JSON.stringify(evaluation, null, 2) + "\n");
}

if (values.eval_pixels) {
  await evaluate("pixels");
  Deno.exit(0);
}
if (values.eval_only) {
  const teacher = buildDinoModel(config, { student: false });
  const chosen = flag("pretrained_weights");
  const ckpt = chosen ?? checkpointPath(outputDir);
  // The output dir's checkpoint may be absent (random init); a named one must exist.
  const found = await Deno.stat(ckpt).then(() => true, () => false);
  if (chosen && !found) {
    console.error(`Cannot evaluate --pretrained_weights ${chosen}: no such file`);
    Deno.exit(2);
  }
  if (found) teacher.loadStateDict((await readCheckpoint(ckpt)).tensors, { prefix: "teacher." });
  console.log(
    found
      ? `evaluating the teacher of ${ckpt}`
      : "no checkpoint: evaluating the random initialisation",
  );
  // eval_checkpoint0005.json for checkpoint0005.safetensors: the run's own eval.json stays.
  const suffix = chosen ? `_${basename(chosen, ".safetensors")}` : "";
  await evaluate(teacher.backbone, suffix);
  Deno.exit(0);
}

const controller = new AbortController();
const onSigint = () => {
  console.log("\nInterrupted: saving a checkpoint before exiting (Ctrl-C again to force)…");
  if (controller.signal.aborted) Deno.exit(130);
  controller.abort();
};
Deno.addSignalListener("SIGINT", onSigint);
let result;
try {
  result = await pretrain({
    config,
    dataset: train,
    augment: { ...augment, mean, std },
    outputDir,
    resume: values.resume,
    saveckpFreq: Number(flag("saveckp_freq") ?? 0),
    logEvery: Number(flag("log_every") ?? 10),
    resize: datasetKind === "folder"
      ? Number(flag("img_size") ?? Math.round((config.globalSize * 8) / 7))
      : undefined,
    onProgress: report,
    signal: controller.signal,
    tuneMatmul: flag("tune_matmul") === undefined ? undefined : isTrue(flag("tune_matmul")!),
  });
} catch (error) {
  if (error instanceof NonFiniteLossError) {
    console.error(`\n${error.message}\nThe last good checkpoint in ${outputDir} is untouched.`);
    Deno.exit(1);
  }
  throw error;
} finally {
  Deno.removeSignalListener("SIGINT", onSigint);
}
if (tty) console.log();

const losses = result.losses;
if (losses.length > 0) {
  const png = await encodePng(linePlot(losses.map((l) => l.iteration), losses.map((l) => l.loss)));
  await Deno.writeFile(`${outputDir}/loss_curve.png`, png);
}
console.log(
  `${result.interrupted ? "stopped" : "finished"} at iteration ${result.nextIteration}: ` +
    `${
      result.imagesPerSecond.toFixed(1)
    } img/s; checkpoint, log.jsonl and loss_curve.png in ${outputDir}`,
);
if (result.interrupted) {
  // The same flags again: a resumed run takes its configuration from the command line.
  const quote = (arg: string) =>
    /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
  const again = Deno.args.filter((arg) => arg !== "--resume").map(quote).join(" ");
  console.log(`resume with: deno task pretrain ${again} --resume`);
  Deno.exit(0);
}

if (!values.no_eval) await evaluate(result.trainer.teacher.backbone);
result.trainer.dispose();
