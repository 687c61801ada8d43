/**
 * Reverse-mode autodiff over the graph that `defineOp` records: topological order from the
 * output, each node's backward once, gradients summed where a tensor is used several times, and
 * accumulated into `.grad` of leaves that require grad.
 *
 * @module
 */
import { add } from "../ops/elementwise.ts";
import { ones } from "../tensor/create.ts";
import { keep } from "../tensor/scope.ts";
import { formatShape, sameShape } from "../tensor/shape.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { noGrad } from "./grad_mode.ts";

function topologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  const stack: [Tensor, number][] = [[root, 0]];
  visited.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const inputs = top[0].gradFn?.inputs ?? [];
    if (top[1] < inputs.length) {
      const next = inputs[top[1]++];
      if (next.requiresGrad && !visited.has(next)) {
        visited.add(next);
        stack.push([next, 0]);
      }
    } else {
      order.push(top[0]);
      stack.pop();
    }
  }
  return order.reverse();
}

/**
 * Backpropagates from `root` (a one-element tensor unless `gradient` is given) and accumulates
 * into the `.grad` of every leaf that requires grad. Same as `root.backward(gradient)`.
 *
 * @example
 * ```ts ignore
 * import { backward } from "./tape.ts";
 * import { fromArray, mul, sum } from "../../mod.ts";
 * const x = fromArray([1, 2, 3]).requireGrad();
 * backward(sum(mul(x, x)));
 * console.log(await x.grad!.toArray()); // [2, 4, 6]
 * ```
 */
export function backward(root: Tensor, gradient?: Tensor): void {
  if (!root.requiresGrad) {
    throw new TypeError(
      "Cannot call backward() on a tensor that does not require grad: no input of the graph " +
        "was marked with requireGrad()",
    );
  }
  if (!gradient && root.size !== 1) {
    throw new RangeError(
      `Cannot call backward() without a gradient on a tensor of shape ${
        formatShape(root.shape)
      }: ` +
        `only one-element outputs get an implicit gradient of 1`,
    );
  }
  if (gradient && !sameShape(gradient.shape, root.shape)) {
    throw new RangeError(
      `Cannot call backward() with a gradient of shape ${formatShape(gradient.shape)} ` +
        `on a tensor of shape ${formatShape(root.shape)}`,
    );
  }
  noGrad(() => {
    const grads = new Map<Tensor, Tensor>();
    grads.set(root, gradient ? gradient.view(gradient.shape) : ones(root.shape, { gpu: root.gpu }));
    for (const tensor of topologicalOrder(root)) {
      const grad = grads.get(tensor);
      if (!grad) continue;
      grads.delete(tensor);
      const node = tensor.gradFn;
      if (!node) {
        accumulateLeaf(tensor, grad);
        continue;
      }
      const inputGrads = node.backward(grad);
      node.inputs.forEach((input, i) => {
        const g = inputGrads[i];
        if (!g || !input.requiresGrad) return;
        if (!sameShape(g.shape, input.shape)) {
          throw new Error(
            `Backward of ${node.op} returned a gradient of shape ${formatShape(g.shape)} for an ` +
              `input of shape ${formatShape(input.shape)}`,
          );
        }
        const previous = grads.get(input);
        // A view gives every stored gradient its own handle, so disposing one never frees another.
        grads.set(input, previous ? add(previous, g) : g.view(g.shape));
        previous?.dispose();
      });
      // Backward results are fresh tensors (or `grad` itself); the map holds views of them.
      for (const g of inputGrads) g?.dispose();
      grad.dispose();
    }
  });
}

function accumulateLeaf(leaf: Tensor, grad: Tensor): void {
  if (leaf.grad) {
    const sum = add(leaf.grad, grad);
    leaf.grad.dispose();
    grad.dispose();
    leaf.grad = keep(sum);
  } else {
    leaf.grad = keep(grad);
  }
}
