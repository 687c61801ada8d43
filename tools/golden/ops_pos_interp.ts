/**
 * Golden checker for `ops_pos_interp`: size-based bicubic resize of the grid [1, D, g, g] →
 * [1, D, h, w] (`out_grid`, `dgrid`) and of the full pos_embed [1, 1 + g², D] →
 * [1, 1 + h·w, D] (`out_pos_embed`, `dpos_embed`), forward and backward through autograd.
 * g comes from the grid's shape and (h, w) from `dout_grid`'s.
 *
 * @module
 */
import { bicubicResize, interpolatePosEmbed } from "../../lib/ops/pos_embed.ts";
import type { SafetensorsFile } from "../../lib/io/safetensors.ts";
import { type CaseResult, compareTensor, gpuTensor, hostTensor, meta } from "./compare.ts";

/** Runs every case of the file. */
export async function check(file: SafetensorsFile): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const c of meta<{ id: string }[]>(file, "cases")) {
    const gridShape = hostTensor(file, `${c.id}.grid`).shape;
    const [h, w] = hostTensor(file, `${c.id}.dout_grid`).shape.slice(-2);
    const g = gridShape[gridShape.length - 1];
    const grid = gpuTensor(file, `${c.id}.grid`).requireGrad();
    const outGrid = bicubicResize(grid, h, w);
    outGrid.backward(gpuTensor(file, `${c.id}.dout_grid`));
    const posEmbed = gpuTensor(file, `${c.id}.pos_embed`).requireGrad();
    const outPos = interpolatePosEmbed(posEmbed, g, h, w);
    outPos.backward(gpuTensor(file, `${c.id}.dout_pos_embed`));
    results.push({
      name: `${c.id} D=${gridShape[1]} ${g}×${g}→${h}×${w}`,
      comparisons: [
        await compareTensor(file, `${c.id}.out_grid`, outGrid),
        await compareTensor(file, `${c.id}.dgrid`, grid.grad!),
        await compareTensor(file, `${c.id}.out_pos_embed`, outPos),
        await compareTensor(file, `${c.id}.dpos_embed`, posEmbed.grad!),
      ],
    });
    grid.dispose();
    posEmbed.dispose();
  }
  return results;
}
