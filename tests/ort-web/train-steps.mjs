// Trains with ONNX Runtime's own training runtime: the training build of onnxruntime-web 1.19.2 (the last release
// that ships one), in Node.js, on one CPU thread.
//
//   node train-steps.mjs <job.json> <result.json>
//
// job.json holds several independent runs, so the 11 MB training wasm is compiled once (that takes ~5 s):
//   { "runs": [ { "name": "...", "trainModel": path, "evalModel": path, "optimizerModel": path, "checkpoint": path,
//                 "lazyResetGrad": true,      // call lazyResetGrad() after each optimizer step (default true)
//                 "steps": [ { "feeds": { "<input>": { "dims": [..], "data": [..], "type": "float32" | "int64" } } }, ... ],
//                 "evalFeeds": { ... } } ] }  // optional: one runEvalStep after the last step
//
// result.json:
//   { "ortVersion", "runs": { "<name>": {
//       "error",                              // set when ONNX Runtime threw; the fields below are then partial
//       "trainingInputNames", "trainingOutputNames", "evalInputNames", "evalOutputNames",
//       "parametersSize": { "all", "trainable" }, "initialParameters": [..],
//       "steps": [ { "loss", "parameters": [..] } ],   // parameters: getContiguousParameters(false) after the step
//       "evalLoss", "checkpointExport" } } }
//
// Model and checkpoint bytes are handed over as Uint8Arrays. A failure outside a run exits with code 1.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const trainingBuild = path.join(here, 'node_modules', 'onnxruntime-web', 'dist', 'ort.training.wasm.min.mjs');

async function train(ort, run, result) {
  const bytes = async (file) => new Uint8Array(await readFile(file));
  const session = await ort.TrainingSession.create({
    checkpointState: await bytes(run.checkpoint),
    trainModel: await bytes(run.trainModel),
    evalModel: run.evalModel ? await bytes(run.evalModel) : undefined,
    optimizerModel: await bytes(run.optimizerModel),
  });
  try {
    const parameters = async () => Array.from((await session.getContiguousParameters(false)).data);
    const toFeeds = (feeds) => Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, t.type === 'int64'
      ? new ort.Tensor('int64', BigInt64Array.from(t.data, (v) => BigInt(Math.round(v))), t.dims)
      : new ort.Tensor('float32', Float32Array.from(t.data), t.dims)]));
    const lossOf = (outputs, names) => outputs[names[0]].data[0];

    Object.assign(result, {
      trainingInputNames: session.trainingInputNames,
      trainingOutputNames: session.trainingOutputNames,
      evalInputNames: session.evalInputNames,
      evalOutputNames: session.evalOutputNames,
      parametersSize: { all: await session.getParametersSize(false), trainable: await session.getParametersSize(true) },
      initialParameters: await parameters(),
      // 1.19.2's TrainingSession has no checkpoint export: no toCheckpoint/saveCheckpoint in its .d.ts and no
      // OrtTrainingSaveCheckpoint among its wasm exports.
      checkpointExport: typeof session.toCheckpoint === 'function' ? 'available' : 'not available in this release',
    });
    for (const step of run.steps) {
      const outputs = await session.runTrainStep(toFeeds(step.feeds));
      const loss = lossOf(outputs, session.trainingOutputNames);
      await session.runOptimizerStep();
      if (run.lazyResetGrad !== false) await session.lazyResetGrad();
      result.steps.push({ loss, parameters: await parameters() });
    }
    if (run.evalFeeds) {
      result.evalLoss = lossOf(await session.runEvalStep(toFeeds(run.evalFeeds)), session.evalOutputNames);
    }
  } finally {
    await session.release();
  }
}

async function main([jobPath, resultPath]) {
  if (!jobPath || !resultPath) throw new Error('usage: node train-steps.mjs <job.json> <result.json>');
  const ort = await import(pathToFileURL(trainingBuild).href);
  ort.env.wasm.numThreads = 1;
  const job = JSON.parse(await readFile(jobPath, 'utf8'));
  const results = { ortVersion: ort.env.versions.web, runs: {} };
  for (const run of job.runs) {
    const result = (results.runs[run.name] = { steps: [] });
    try {
      await train(ort, run, result);
    } catch (e) {
      result.error = `${e?.message ?? e}`;
    }
  }
  await writeFile(resultPath, JSON.stringify(results));
}

main(process.argv.slice(2)).catch((e) => {
  process.stderr.write(`${e?.stack ?? e}\n`);
  process.exit(1);
});
