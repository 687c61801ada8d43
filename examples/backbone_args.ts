// Shared by examples/knn.ts, examples/linear_probe.ts and examples/attention_maps.ts (not run on
// its own): the command-line flags that choose the backbone — a checkpoint, or a randomly
// initialised ViT of the given architecture — and the synthetic train/test splits.
import { parseArgs } from "@std/cli/parse-args";
import { SyntheticShapes } from "../lib/data/synthetic.ts";
import { loadBackbone } from "../lib/eval/backbone.ts";
import { type Embedder, extractFeatures, type Features } from "../lib/eval/features.ts";
import { getGpu } from "../lib/gpu/device.ts";
import { VisionTransformer, vitBase, type VitConfig, vitSmall, vitTiny } from "../lib/nn/vit.ts";

/** `parseArgs` options of the backbone flags (all strings; defaults applied by backboneFromArgs). */
export const BACKBONE_OPTIONS = {
  checkpoint: { type: "string" },
  prefix: { type: "string" },
  arch: { type: "string" },
  patch_size: { type: "string" },
  img_size: { type: "string" },
  embed_dim: { type: "string" },
  depth: { type: "string" },
  num_heads: { type: "string" },
  seed: { type: "string" },
} as const;

/** The help text of the backbone flags. */
export const BACKBONE_HELP = `Backbone:
  --checkpoint PATH   safetensors checkpoint of pretraining (teacher.* weights); its "config"
                      metadata gives the architecture unless --arch is passed
  --prefix P          tensor-name prefix of the ViT in the checkpoint (default teacher.)
  --arch A            vit_tiny | vit_small | vit_base (default vit_tiny, shrunk below to run
                      in about a minute on a CPU adapter)
  --patch_size N      patch size (default 4)
  --img_size N        image size in pixels, also of the synthetic images (default 32)
  --embed_dim N       token width (default 96 without a checkpoint; else the preset's)
  --depth N           blocks (default 4 without a checkpoint; else the preset's)
  --num_heads N       heads (default 3)
  --seed N            seed of the random initialisation (default 0)`;

type Flags = { [K in keyof typeof BACKBONE_OPTIONS]?: string };

/** `parseArgs` options every example takes: the backbone flags, --batch_size and --help. */
export const EXAMPLE_OPTIONS = {
  ...BACKBONE_OPTIONS,
  batch_size: { type: "string", default: "64" },
  help: { type: "boolean", default: false },
} as const;

/**
 * The help text of `examples/<name>.ts`: the usage line, its own `options` lines, then
 * --batch_size, --help and the backbone flags.
 */
export function exampleHelp(name: string, options: string): string {
  return `Usage: deno run -A examples/${name}.ts [options]

Options:
${options}
  --batch_size N      images per forward pass (default 64)
  --help              show this help

${BACKBONE_HELP}`;
}

/**
 * Prints `help` and exits on --help; otherwise builds the ViT the flags ask for (see
 * backboneFromArgs) and prints its description.
 */
export async function backboneOrHelp(
  values: Flags & { help?: boolean },
  help: string,
): Promise<VisionTransformer> {
  if (values.help) {
    console.log(help);
    Deno.exit(0);
  }
  const { vit, description } = await backboneFromArgs(values);
  console.log(`backbone: ${description}`);
  return vit;
}

/** The ViT the flags ask for, in eval mode, and a one-line description of it. */
export async function backboneFromArgs(
  values: Flags,
): Promise<{ vit: VisionTransformer; description: string }> {
  await getGpu();
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  const explicit = values.arch !== undefined || !values.checkpoint;
  let config: VitConfig | undefined;
  if (explicit) {
    const arch = values.arch ?? "vit_tiny";
    const preset = { vit_tiny: vitTiny, vit_small: vitSmall, vit_base: vitBase }[arch];
    if (!preset) {
      throw new RangeError(`Unknown --arch ${arch}: use vit_tiny, vit_small or vit_base`);
    }
    const overrides: Partial<VitConfig> = { imgSize: num(values.img_size) ?? 32 };
    const small = !values.checkpoint && values.arch === undefined;
    const embedDim = num(values.embed_dim) ?? (small ? 96 : undefined);
    const depth = num(values.depth) ?? (small ? 4 : undefined);
    const numHeads = num(values.num_heads);
    if (embedDim) overrides.embedDim = embedDim;
    if (depth) overrides.depth = depth;
    if (numHeads) overrides.numHeads = numHeads;
    config = preset(num(values.patch_size) ?? 4, overrides);
  }
  if (values.checkpoint) {
    const vit = await loadBackbone(values.checkpoint, { config, prefix: values.prefix });
    return { vit, description: `${values.checkpoint} (${describe(vit.config)})` };
  }
  const vit = new VisionTransformer(config!, { seed: num(values.seed) ?? 0 }).eval();
  return { vit, description: `random init (${describe(vit.config)})` };
}

function describe(c: VitConfig): string {
  return `ViT D ${c.embedDim}, depth ${c.depth}, ${c.numHeads} heads, patch ${c.patchSize}, ` +
    `${c.imgSize} px`;
}

/** Synthetic train and test splits of the backbone's image size (different seeds). */
export function syntheticSplits(
  vit: VisionTransformer,
  train: number,
  test: number,
): { train: SyntheticShapes; test: SyntheticShapes } {
  const size = vit.config.imgSize;
  return {
    train: new SyntheticShapes({ length: train, size, seed: 0 }),
    test: new SyntheticShapes({ length: test, size, seed: 1 }),
  };
}

/**
 * Features of the train and test splits through `embed`, with a progress line on stdout, and the
 * seconds the two extractions took.
 */
export async function splitFeatures(
  splits: { train: SyntheticShapes; test: SyntheticShapes },
  embed: Embedder,
  batchSize: number,
): Promise<{ train: Features; test: Features; seconds: number }> {
  const start = performance.now();
  const progress = (what: string) => (done: number, total: number) =>
    Deno.stdout.writeSync(new TextEncoder().encode(`\r${what} features ${done}/${total}`));
  const train = await extractFeatures(splits.train, embed, {
    batchSize,
    onProgress: progress("train"),
  });
  const test = await extractFeatures(splits.test, embed, {
    batchSize,
    onProgress: progress("test"),
  });
  return { train, test, seconds: (performance.now() - start) / 1000 };
}

/**
 * `parseArgs` that turns a bad flag into one line (`Unknown option '--out'; see --help`) and exit
 * code 2 instead of a stack trace.
 */
export function parseFlags<T extends NonNullable<Parameters<typeof parseArgs>[0]>>(
  config: T,
): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    console.error(`${(error as Error).message}; see --help`);
    Deno.exit(2);
  }
}
