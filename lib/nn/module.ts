/**
 * `Module`: the base of every layer. Parameters and sub-modules are registered in construction
 * order, so `namedParameters()` yields timm/dino names in their order
 * (`blocks.0.attn.qkv.weight`, …), and `stateDict()`/`loadStateDict()` move weights to and from
 * safetensors.
 *
 * @module
 */
import type { SafetensorsFile, SafetensorsTensor } from "../io/safetensors.ts";
import { keep } from "../tensor/scope.ts";
import { formatShape, sameShape } from "../tensor/shape.ts";
import type { Tensor } from "../tensor/tensor.ts";

/** Prefixes that dino checkpoints put before parameter names, stripped on load. */
const KNOWN_PREFIXES = ["module.", "backbone."];

/** Options of {@link Module.loadStateDict}. */
export interface LoadOptions {
  /** Throw on missing tensors (default true); unexpected tensors are always ignored. */
  strict?: boolean;
  /** Extra prefix to strip (e.g. `student.`), tried before `module.` and `backbone.`. */
  prefix?: string;
}

/**
 * Base class of layers: parameters, sub-modules, train/eval mode, state dicts.
 *
 * @example
 * ```ts ignore
 * import { Module } from "./module.ts";
 * import { zeros } from "../tensor/create.ts";
 * class Scale extends Module {
 *   readonly weight = this.registerParameter("weight", zeros([4]));
 * }
 * console.log(new Scale().namedParameters().map(([name]) => name)); // ["weight"]
 * ```
 */
export class Module {
  /** True in training mode (drop-path active); see {@link Module.eval}. */
  training = true;
  /** Parameters and children in registration order (names come out in that order). */
  #entries: [string, Tensor<"f32"> | Module][] = [];

  /** Registers `tensor` as a trainable parameter named `name` (kept out of any scope). */
  protected registerParameter(name: string, tensor: Tensor<"f32">): Tensor<"f32"> {
    tensor.requiresGrad = true;
    this.#entries.push([name, keep(tensor)]);
    return tensor;
  }

  /** Registers `module` as a child named `name` (`""`: its parameters keep their own names). */
  protected registerModule<M extends Module>(name: string, module: M): M {
    this.#entries.push([name, module]);
    return module;
  }

  /** Every parameter with its dotted name, in registration order (frozen ones included). */
  namedParameters(prefix = ""): [string, Tensor<"f32">][] {
    const out: [string, Tensor<"f32">][] = [];
    for (const [name, entry] of this.#entries) {
      if (entry instanceof Module) {
        out.push(...entry.namedParameters(name === "" ? prefix : `${prefix}${name}.`));
      } else out.push([prefix + name, entry]);
    }
    return out;
  }

  /** Every parameter, in registration order. */
  parameters(): Tensor<"f32">[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** Parameters that receive gradients (`requiresGrad`). */
  trainableParameters(): [string, Tensor<"f32">][] {
    return this.namedParameters().filter(([, t]) => t.requiresGrad);
  }

  /** Number of parameter elements. */
  parameterCount(): number {
    return this.parameters().reduce((n, t) => n + t.size, 0);
  }

  /** Sets training mode on this module and its children; returns this. */
  train(mode = true): this {
    this.training = mode;
    for (const [, entry] of this.#entries) if (entry instanceof Module) entry.train(mode);
    return this;
  }

  /** Evaluation mode (no drop-path); returns this. */
  eval(): this {
    return this.train(false);
  }

  /** Reads every parameter back to the CPU as F32 safetensors entries, keyed by name. */
  async stateDict(prefix = ""): Promise<Record<string, SafetensorsTensor>> {
    const out: Record<string, SafetensorsTensor> = {};
    for (const [name, t] of this.namedParameters(prefix)) {
      out[name] = { dtype: "F32", shape: [...t.shape], data: await t.toArray() };
    }
    return out;
  }

  /**
   * Copies tensors into the parameters in place (optimisers keep their references). Names may
   * carry `options.prefix`, `module.` or `backbone.` before the timm name.
   *
   * @throws {RangeError} naming the tensor when one is missing (strict) or mis-shaped.
   */
  loadStateDict(
    tensors: SafetensorsFile | Map<string, SafetensorsTensor> | Record<string, SafetensorsTensor>,
    options: LoadOptions = {},
  ): void {
    const source = "tensors" in tensors && tensors.tensors instanceof Map
      ? (tensors as SafetensorsFile).tensors
      : tensors instanceof Map
      ? tensors
      : new Map(Object.entries(tensors as Record<string, SafetensorsTensor>));
    const where = "source" in tensors && typeof tensors.source === "string"
      ? ` from ${tensors.source}`
      : "";
    const prefixes = ["", ...KNOWN_PREFIXES, "module.backbone."];
    const outer = options.prefix ? [options.prefix, ""] : [""];
    const find = (name: string) => {
      for (const o of outer) {
        for (const p of prefixes) {
          const t = source.get(o + p + name);
          if (t) return t;
        }
      }
      return undefined;
    };
    for (const [name, param] of this.namedParameters()) {
      const t = find(name);
      if (!t) {
        if (options.strict ?? true) {
          throw new RangeError(`Cannot load the state dict${where}: tensor "${name}" is missing`);
        }
        continue;
      }
      if (!sameShape(t.shape, param.shape)) {
        throw new RangeError(
          `Cannot load tensor "${name}"${where}: shape ${formatShape(t.shape)} does not match ` +
            `the parameter's ${formatShape(param.shape)}`,
        );
      }
      const data = t.data instanceof Float32Array
        ? t.data
        : Float32Array.from(t.data as ArrayLike<number>);
      param.gpu.stream.upload(param.storage.buffer, data);
    }
  }

  /** Frees every parameter (and gradient). */
  dispose(): void {
    for (const [, t] of this.namedParameters()) {
      t.grad?.dispose();
      t.grad = null;
      t.dispose();
    }
  }
}
