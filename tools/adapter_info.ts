// Run: deno run -A tools/adapter_info.ts
// Prints the WebGPU adapter dinogpu will use, its features and key limits; exits 1 without one.
import { getGpu } from "../lib/gpu/device.ts";

try {
  const gpu = await getGpu();
  const info = gpu.describe();
  console.log(`${info.description} (fallback: ${info.isFallbackAdapter})`);
  console.log(`features: ${info.features.join(", ")}`);
  console.log(`limits: ${JSON.stringify(info.limits)}`);
} catch (error) {
  console.error((error as Error).message);
  Deno.exit(1);
}
