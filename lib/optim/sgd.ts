/**
 * Plain stochastic gradient descent, optionally with momentum (as `torch.optim.SGD`).
 *
 * @module
 */
import { noGrad } from "../autograd/grad_mode.ts";
import { zeros } from "../tensor/create.ts";
import { keep } from "../tensor/scope.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { BINARY, runBinaryInPlace } from "../ops/strided.ts";

/** Options of {@link SGD}. */
export interface SgdOptions {
  /** Learning rate. */
  lr: number;
  /** Momentum factor (0: none). `torch.optim.SGD` semantics: buf = μ·buf + g; p −= lr·buf. */
  momentum?: number;
}

/**
 * SGD over a list of parameters; updates run on the GPU in place.
 *
 * @example
 * ```ts ignore
 * import { SGD } from "./sgd.ts";
 * const opt = new SGD([w, b], { lr: 0.1 });
 * loss.backward();
 * opt.step();
 * opt.zeroGrad();
 * ```
 */
export class SGD {
  /** The parameters updated by {@link SGD.step}. */
  readonly params: readonly Tensor[];
  /** Learning rate; may be changed between steps. */
  lr: number;
  readonly #momentum: number;
  #buffers: (Tensor | null)[];

  /** An optimiser for `params`. */
  constructor(params: readonly Tensor[], options: SgdOptions) {
    this.params = params;
    this.lr = options.lr;
    this.#momentum = options.momentum ?? 0;
    this.#buffers = params.map(() => null);
  }

  /** p −= lr · g (with momentum: through the velocity buffer). Parameters without grad are skipped. */
  step(): void {
    noGrad(() => {
      this.params.forEach((p, i) => {
        if (!p.grad) return;
        if (this.#momentum === 0) {
          runBinaryInPlace(p, p.grad, BINARY.axpy, -this.lr);
          return;
        }
        const buffer = this.#buffers[i] ??= keep(zeros(p.shape, { gpu: p.gpu }));
        runBinaryInPlace(buffer, p.grad, BINARY.axpby, this.#momentum, 1);
        runBinaryInPlace(p, buffer, BINARY.axpy, -this.lr);
      });
    });
  }

  /** Frees the momentum buffers and gradients; do not step afterwards. */
  dispose(): void {
    this.zeroGrad();
    for (const b of this.#buffers) b?.dispose();
    this.#buffers = this.params.map(() => null);
  }

  /** Frees and clears every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }
}
