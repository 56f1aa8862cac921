import * as tf from "@tensorflow/tfjs";
import { afterEach, describe, expect, it } from "vitest";
import { BackendError, backendCanTrain, describeAdapter, selectBackend, type BackendKind } from "../src/runtime/backends/select.js";

// The wasm backend is a dependency; tfjs-node and tfjs-node-gpu cannot be installed here (see
// docs/RUNTIME.md), so these tests cover their fallbacks. webgpu and its TF.js backend are
// optional dependencies, installed, but WebGPU works only where a Vulkan driver is (after
// `npm run setup-webgpu`, or on a GPU machine): the webgpu tests below take whichever case
// this machine is in, and check it for real.

/** Why `auto` may pass webgpu by on a machine without a GPU. */
const WEBGPU_SKIPS = /^webgpu: (no GPU device here \(no \/dev\/dri render node, no \/dev\/nvidia\*\)|webgpu is not installed \(npm i webgpu @tensorflow\/tfjs-backend-webgpu\)|WebGPU found no adapter.*|WebGPU's only adapter is .*, which runs on the CPU and trains slower than wasm \(ask for --backend webgpu to use it anyway\))$/;

/** Whether Dawn finds an adapter here (lavapipe or a GPU), asked without TF.js. */
async function webgpuAdapter(): Promise<unknown> {
  try {
    const dawn = (await import("webgpu")) as unknown as { create(flags: string[]): { requestAdapter(): Promise<unknown> }; default?: unknown };
    const mod = (typeof dawn.create === "function" ? dawn : dawn.default) as { create(flags: string[]): { requestAdapter(): Promise<unknown> } };
    return await mod.create([]).requestAdapter();
  } catch {
    return null;
  }
}
const adapter = await webgpuAdapter();
const hardwareGpu = adapter != null && !describeAdapter(adapter).software;

function collect(): { log: (line: string) => void; lines: string[] } {
  const lines: string[] = [];
  return { log: (line) => lines.push(line), lines };
}

afterEach(async () => {
  await tf.setBackend("cpu");
});

describe("selectBackend", () => {
  it.skipIf(hardwareGpu)("takes wasm under auto, even for a conv model, and says why each faster backend was skipped", async () => {
    const { log, lines } = collect();
    const chosen = await selectBackend("auto", log, { needsConvGradients: true });
    expect(chosen.name).toBe("wasm");
    expect(chosen.tfName).toBe("wasm");
    expect(tf.getBackend()).toBe("wasm");
    expect(chosen.reasons).toHaveLength(3);
    expect(chosen.reasons[0]).toBe("node-gpu: @tensorflow/tfjs-node-gpu is not installed (npm i @tensorflow/tfjs-node-gpu)");
    expect(chosen.reasons[1]).toBe("node: @tensorflow/tfjs-node is not installed (npm i @tensorflow/tfjs-node)");
    expect(chosen.reasons[2]).toMatch(WEBGPU_SKIPS);
    expect(lines).toHaveLength(4);
    expect(lines[0]).toContain("backend node-gpu skipped: @tensorflow/tfjs-node-gpu is not installed");
    expect(lines[3]).toMatch(/^backend: wasm \(WebAssembly with XNNPACK, (one thread|\d+ threads)\)$/);
  });

  it("always gives cpu when cpu is asked for, with nothing skipped", async () => {
    const { log, lines } = collect();
    const chosen = await selectBackend("cpu", log, { needsConvGradients: true });
    expect(chosen).toEqual({ name: "cpu", tfName: "cpu", reasons: [] });
    expect(lines).toEqual(["backend: cpu (pure JavaScript: slow, especially for conv nets), as requested"]);
  });

  const missing: [BackendKind, string, string][] = [
    ["node-gpu", "@tensorflow/tfjs-node-gpu", "npm i @tensorflow/tfjs-node-gpu"],
    ["node", "@tensorflow/tfjs-node", "npm i @tensorflow/tfjs-node"],
  ];
  for (const [kind, pkg, install] of missing) {
    it(`refuses an explicit ${kind} that is not installed with a BackendError naming ${pkg} and how to install it`, async () => {
      const { log } = collect();
      const attempt = selectBackend(kind, log);
      await expect(attempt).rejects.toBeInstanceOf(BackendError);
      await expect(attempt).rejects.toThrow(`Cannot use the ${kind} backend: ${pkg} is not installed (${install}).`);
      expect(tf.getBackend()).toBe("cpu");
    });
  }

  it("gives a BackendError with the name BackendError, so the CLI can print just the message", async () => {
    const error = await selectBackend("node", () => undefined).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe("BackendError");
  });

  it("gives wasm when wasm is asked for, with its training kernels registered", async () => {
    const { log, lines } = collect();
    const chosen = await selectBackend("wasm", log, { needsConvGradients: true });
    expect(chosen).toEqual({ name: "wasm", tfName: "wasm", reasons: [] });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^backend: wasm \(WebAssembly with XNNPACK, (one thread|\d+ threads)\), as requested$/);
    expect(backendCanTrain("wasm", true)).toEqual({ ok: true });
  });

  describe("with a wasm backend that lacks Conv2DBackpropFilter", () => {
    // Stand in for a wasm backend without nnc's training kernels: load it, then take the kernel
    // away (registering the kernels again does nothing once they have been registered).
    let removed: tf.KernelConfig | undefined;
    const unregister = async (): Promise<void> => {
      await selectBackend("wasm", () => undefined);
      await tf.setBackend("cpu");
      removed = tf.getKernel("Conv2DBackpropFilter", "wasm");
      tf.unregisterKernel("Conv2DBackpropFilter", "wasm");
    };
    afterEach(async () => {
      await tf.setBackend("cpu");
      if (removed) tf.registerKernel(removed);
      removed = undefined;
    });

    it("skips wasm under auto for a model that trains convolutions, and says why", async () => {
      await unregister();
      const { log, lines } = collect();
      const chosen = await selectBackend("auto", log, { needsConvGradients: true });
      expect(chosen.name).toBe("cpu");
      expect(chosen.reasons[3]).toBe("wasm: the wasm backend has no Conv2DBackpropFilter kernel, which training a conv layer needs");
      expect(lines.some((l) => l.startsWith("backend wasm skipped: the wasm backend has no Conv2DBackpropFilter"))).toBe(true);
      expect(lines[lines.length - 1]).toMatch(/^backend: cpu \(pure JavaScript/);
    });

    it("takes wasm under auto for a model without convolutions", async () => {
      await unregister();
      const chosen = await selectBackend("auto", () => undefined, { needsConvGradients: false });
      expect(chosen.name).toBe("wasm");
      expect(chosen.tfName).toBe("wasm");
      expect(chosen.reasons).toHaveLength(3);
    });

    it("refuses an explicit wasm for a conv model with a BackendError", async () => {
      await unregister();
      await expect(selectBackend("wasm", () => undefined, { needsConvGradients: true })).rejects.toThrow(
        "Cannot use the wasm backend: the wasm backend has no Conv2DBackpropFilter kernel, which training a conv layer needs.",
      );
    });
  });
});

describe("backendCanTrain", () => {
  it("lets cpu train conv nets", () => {
    expect(backendCanTrain("cpu", true)).toEqual({ ok: true });
  });

  it("lets any backend train a model without convolutions", () => {
    expect(backendCanTrain("wasm", false)).toEqual({ ok: true });
  });

  it("refuses a backend without Conv2DBackpropFilter until a kernel for it is registered", () => {
    const name = "nnc-test-backend";
    const refused = backendCanTrain(name, true);
    expect(refused.ok).toBe(false);
    expect(refused.reason).toContain("Conv2DBackpropFilter");
    tf.registerKernel({ kernelName: "Conv2DBackpropFilter", backendName: name, kernelFunc: () => ({ dataId: {}, shape: [], dtype: "float32" }) });
    try {
      expect(backendCanTrain(name, true)).toEqual({ ok: true });
    } finally {
      tf.unregisterKernel("Conv2DBackpropFilter", name);
    }
  });
});

describe("describeAdapter", () => {
  it("names a GPU adapter and does not call it software", () => {
    const gpu = { info: { vendor: "nvidia", architecture: "hopper", device: "", description: "NVIDIA H100 80GB HBM3", isFallbackAdapter: false } };
    expect(describeAdapter(gpu)).toEqual({ name: "NVIDIA H100 80GB HBM3", software: false });
  });

  it("calls Mesa's llvmpipe (lavapipe) software, by its fallback flag, its architecture or its name", () => {
    const info = { vendor: "mesa", architecture: "software", device: "llvmpipe-llvm-15", description: "llvmpipe: Mesa 25.0.7", isFallbackAdapter: true };
    expect(describeAdapter({ info })).toEqual({ name: "llvmpipe: Mesa 25.0.7", software: true });
    expect(describeAdapter({ info: { ...info, isFallbackAdapter: false } }).software).toBe(true);
    expect(describeAdapter({ info: { ...info, isFallbackAdapter: false, architecture: "" } }).software).toBe(true);
    expect(describeAdapter({ info: { vendor: "google", device: "swiftshader device" } })).toEqual({ name: "google swiftshader device", software: true });
  });

  it("copes with an adapter that says nothing", () => {
    expect(describeAdapter({})).toEqual({ name: "an unnamed adapter", software: false });
    expect(describeAdapter(null)).toEqual({ name: "an unnamed adapter", software: false });
  });
});

describe("webgpu on this machine", () => {
  it.skipIf(adapter != null)("is refused with a reason when Dawn finds no adapter (no Vulkan driver)", async () => {
    const attempt = selectBackend("webgpu", () => undefined);
    await expect(attempt).rejects.toBeInstanceOf(BackendError);
    await expect(attempt).rejects.toThrow(/^Cannot use the webgpu backend: (webgpu is not installed|WebGPU found no adapter)/);
  });

  it.runIf(adapter != null)("is taken when asked for, names its adapter, and its conv gradients match the cpu backend", async () => {
    const { log, lines } = collect();
    const x = tf.randomNormal([2, 9, 9, 3], 0, 1, "float32", 1);
    const w = tf.randomNormal([3, 3, 3, 4], 0, 1, "float32", 2);
    // data(), not dataSync(): webgpu cannot read back synchronously in Node.
    const grads = async (): Promise<Float32Array> => {
      const { grads: g } = tf.variableGrads(() => tf.conv2d(x, wv, 2, "same").relu().maxPool(2, 2, "same").square().mean() as tf.Scalar, [wv]);
      return (await g[wv.name]!.data()) as Float32Array;
    };
    const wv = tf.variable(w);
    const onCpu = await grads();
    const chosen = await selectBackend("webgpu", log, { needsConvGradients: true });
    expect(chosen.name).toBe("webgpu");
    expect(tf.getBackend()).toBe("webgpu");
    expect(lines[0]).toMatch(/^webgpu adapter: .+/);
    expect(lines.at(-1)).toBe("backend: webgpu (WebGPU through Dawn), as requested");
    const onGpu = await grads();
    expect(onGpu.length).toBe(onCpu.length);
    for (let i = 0; i < onCpu.length; i++) expect(onGpu[i]).toBeCloseTo(onCpu[i]!, 4);
  });

  // Runs after the test above has asked Dawn for its adapter (tests in a file run in order);
  // before that, on a machine without GPU device files, auto does not even ask.
  it.runIf(adapter != null && !hardwareGpu)("is passed by under auto when its only adapter is a software one, with the reason", async () => {
    const { log } = collect();
    const chosen = await selectBackend("auto", log, { needsConvGradients: true });
    expect(chosen.name).toBe("wasm");
    expect(chosen.reasons[2]).toMatch(/^webgpu: WebGPU's only adapter is .*, which runs on the CPU and trains slower than wasm/);
  });

  it.runIf(hardwareGpu)("is taken under auto when the adapter is a real GPU", async () => {
    const chosen = await selectBackend("auto", () => undefined, { needsConvGradients: true });
    expect(chosen.name).toBe("webgpu");
  });
});
