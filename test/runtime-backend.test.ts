import * as tf from "@tensorflow/tfjs";
import { afterEach, describe, expect, it } from "vitest";
import { BackendError, backendCanTrain, selectBackend, type BackendKind } from "../src/runtime/backend.js";

// The wasm backend is a dependency; the other optional backend packages (tfjs-node,
// tfjs-node-gpu, webgpu) are not installed here (see docs/RUNTIME.md), so these tests cover
// their fallbacks, and wasm's loading path and training kernels for real.

function collect(): { log: (line: string) => void; lines: string[] } {
  const lines: string[] = [];
  return { log: (line) => lines.push(line), lines };
}

afterEach(async () => {
  await tf.setBackend("cpu");
});

describe("selectBackend", () => {
  it("takes wasm under auto, even for a conv model, and says why each faster backend was skipped", async () => {
    const { log, lines } = collect();
    const chosen = await selectBackend("auto", log, { needsConvGradients: true });
    expect(chosen.name).toBe("wasm");
    expect(chosen.tfName).toBe("wasm");
    expect(tf.getBackend()).toBe("wasm");
    expect(chosen.reasons).toHaveLength(3);
    expect(chosen.reasons[0]).toBe("node-gpu: @tensorflow/tfjs-node-gpu is not installed (npm i @tensorflow/tfjs-node-gpu)");
    expect(chosen.reasons[1]).toBe("node: @tensorflow/tfjs-node is not installed (npm i @tensorflow/tfjs-node)");
    expect(chosen.reasons[2]).toMatch(/^webgpu: webgpu is not installed \(npm i webgpu @tensorflow\/tfjs-backend-webgpu\)$/);
    expect(lines).toHaveLength(4);
    expect(lines[0]).toContain("backend node-gpu skipped: @tensorflow/tfjs-node-gpu is not installed");
    expect(lines[3]).toBe("backend: wasm (WebAssembly with XNNPACK)");
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
    ["webgpu", "webgpu", "npm i webgpu @tensorflow/tfjs-backend-webgpu"],
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
    expect(lines).toEqual(["backend: wasm (WebAssembly with XNNPACK), as requested"]);
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
