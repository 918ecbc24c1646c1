namespace VbLoraOrt.Tests.Reliability;

/// <summary>
/// The table of <see cref="BadInvocationTableTests"/>: ordinary mistakes with both programs, grouped by kind. Outputs
/// they name (<c>{w}/new…</c>) do not exist beforehand and must not exist afterwards.
/// </summary>
static class BadInvocationCases
{
    const string Train = "train --artifacts {w}/art --train {w}/data/train.jsonl --max-steps 1 --batch-size 2 --threads 1";
    const string Prepare = "prepare --model {w}/model/encoder.onnx --method vblora --num-vectors 8 --vector-length 4 --rank 2 --topk 2 --targets query,value";

    static string TrainOn(string data) => Train.Replace("{w}/data/train.jsonl", data);

    static string PrepareFrom(string model) => Prepare.Replace("{w}/model/encoder.onnx", model);
    const string EvalArt = "eval --data {w}/data/train.jsonl --artifacts {w}/art";

    public static IEnumerable<BadInvocation> All =>
    [
        // wrong or missing options
        new("train without options", "run", "train", "--artifacts"),
        new("train without --out", "run", Train, "--out"),
        new("train --max-steps 0", "run", Train + " --out {w}/new-run --max-steps 0", "--max-steps"),
        new("train --batch-size 0", "run", Train + " --out {w}/new-run --batch-size 0", "--batch-size"),
        new("train --epochs 0", "run", "train --artifacts {w}/art --train {w}/data/train.jsonl --out {w}/new-run --epochs 0", "--epochs"),
        new("train --max-length -1", "run", Train + " --out {w}/new-run --max-length -1", "--max-length"),
        new("train --batch-size not a number", "run", Train + " --out {w}/new-run --seed many", "--seed|many"),
        new("train --checkpoint-every 0", "run", Train + " --out {w}/new-run --checkpoint-every 0", "--checkpoint-every"),
        new("train --warmup -1", "run", Train + " --out {w}/new-run --warmup -1", "--warmup"),
        new("train --weight-decay -1", "run", Train + " --out {w}/new-run --weight-decay -1", "--weight-decay"),
        new("train --lr without a group", "run", Train + " --out {w}/new-run --lr 0.01", "--lr"),
        new("train --lr of a group the artifacts lack", "run", Train + " --out {w}/new-run --lr theta=0.01", "theta"),
        new("train --lr-adapter on VB-LoRA artifacts", "run", Train + " --out {w}/new-run --lr-adapter 0.01", "adapter"),
        new("train --lr given twice", "run", Train + " --out {w}/new-run --lr bank=0.1 --lr-bank 0.2", "bank"),
        new("train --device tpu", "run", Train + " --out {w}/new-run --device tpu", "tpu"),
        new("train --on-non-finite maybe", "run", Train + " --out {w}/new-run --on-non-finite maybe", "--on-non-finite"),
        new("train --padding none", "run", Train + " --out {w}/new-run --padding none", "--padding"),
        new("train --resume with --batch-size", "run", "train --resume {w}/run --batch-size 4", "--batch-size|--resume"),
        new("train --resume with --from-ort-checkpoint", "run", "train --resume {w}/run --from-ort-checkpoint {w}/art/ort/checkpoint", "--from-ort-checkpoint"),
        new("train with an unknown option", "run", Train + " --out {w}/new-run --learning-rate 0.1", "--learning-rate"),
        new("prepare without --targets", "graph", "prepare --model {w}/model/encoder.onnx --out {w}/new-art", "--targets"),
        new("prepare --targets matching nothing", "graph", "prepare --model {w}/model/encoder.onnx --targets nosuchmodule --out {w}/new-art", "nosuchmodule"),
        new("prepare --targets with --target-regex", "graph", "prepare --model {w}/model/encoder.onnx --targets query --target-regex .* --out {w}/new-art", "--target-regex"),
        new("prepare --exclude alone", "graph", "prepare --model {w}/model/encoder.onnx --exclude key --out {w}/new-art", "--exclude"),
        new("prepare --topk above --num-vectors", "graph", "prepare --model {w}/model/encoder.onnx --targets query --num-vectors 2 --vector-length 4 --topk 3 --out {w}/new-art", "--topk"),
        new("prepare --vector-length not dividing", "graph", "prepare --model {w}/model/encoder.onnx --targets query --num-vectors 8 --vector-length 3 --out {w}/new-art", "vector_length|3"),
        new("prepare --method unknown", "graph", "prepare --model {w}/model/encoder.onnx --targets query --method dora --out {w}/new-art", "dora"),
        new("prepare --theta-length for VB-LoRA", "graph", Prepare + " --theta-length 64 --out {w}/new-art", "--theta-length"),
        new("prepare --num-labels 0", "graph", Prepare + " --num-labels 0 --out {w}/new-art", "--num-labels"),
        new("prepare --task embed --pooling cls", "graph", Prepare + " --task embed --pooling cls --out {w}/new-art", "--pooling"),
        new("prepare --task unknown", "graph", Prepare + " --task summarize --out {w}/new-art", "--task"),
        new("prepare --ort-learning-rate without --format ort", "graph", Prepare + " --ort-learning-rate 0.1 --out {w}/new-art", "--ort-learning-rate"),
        new("prepare --hidden-output unknown", "graph", Prepare + " --hidden-output pooled --out {w}/new-art", "pooled"),
        new("prepare --max-length 0", "graph", Prepare + " --max-length 0 --out {w}/new-art", "--max-length"),
        new("eval without a source", "run", "eval --data {w}/data/train.jsonl", "--run"),
        new("eval --adapter without --artifacts", "run", "eval --data {w}/data/train.jsonl --adapter {w}/adapter.safetensors", "--artifacts"),
        new("eval without --data", "run", "eval --run {w}/run", "--data"),
        new("eval --batch-size 0", "run", "eval --data {w}/data/train.jsonl --run {w}/run --batch-size 0", "--batch-size"),
        new("export without an output", "run", "export --run {w}/run", "--adapter"),
        new("export --run with --artifacts", "run", "export --run {w}/run --artifacts {w}/art --adapter {w}/new.safetensors", "--run|--artifacts"),
        new("export --ort-checkpoint without --artifacts", "run", "export --ort-checkpoint {w}/art/ort/checkpoint --adapter {w}/new.safetensors", "--artifacts"),
        new("infer without --text", "run", "infer --model {w}/merged/model.onnx", "--text"),
        new("merge without --peft", "graph", "merge --model {w}/model/encoder.onnx --out {w}/new.onnx", "--peft"),
        new("serve --adapters without a file", "run", "serve --model {w}/serving --adapters user= --input {w}/requests.jsonl --output {w}/new.jsonl", "user"),

        // mismatched inputs
        new("eval an adapter of another method", "run", EvalArt + " --adapter {w}/lora.safetensors", "lora.safetensors|method"),
        new("eval an adapter of another model", "run", EvalArt + " --adapter {w}/other.safetensors", "other.safetensors"),
        new("eval an adapter with another label count", "run", EvalArt + " --adapter {w}/three.safetensors", "three.safetensors"),
        new("eval a merged model with a foreign --vocab", "run", "eval --data {w}/data/train.jsonl --model {w}/merged/model.onnx --vocab {w}/foreign-vocab.txt", "foreign-vocab.txt"),
        new("infer with a foreign --vocab", "run", "infer --model {w}/merged/model.onnx --vocab {w}/foreign-vocab.txt --text hello", "foreign-vocab.txt"),
        new("train from the ORT checkpoint of other artifacts", "run", "train --artifacts {w}/art-lora --train {w}/data/train.jsonl --out {w}/new-run --from-ort-checkpoint {w}/art/ort/checkpoint", "checkpoint"),
        new("export an ORT checkpoint with other artifacts", "run", "export --ort-checkpoint {w}/art/ort/checkpoint --artifacts {w}/art-other --adapter {w}/new.safetensors", "checkpoint"),
        new("train on more classes than the head has", "run", TrainOn("{w}/data/four-classes.jsonl") + " --out {w}/new-run", "four-classes.jsonl|--num-labels"),
        new("train classify artifacts on pair data", "run", "train --artifacts {w}/art --train {w}/data/pairs.jsonl --out {w}/new-run --max-steps 1", "pairs.jsonl"),
        new("merge a PEFT directory into another model", "graph", "merge --model {w}/other/encoder.onnx --peft {w}/peft --out {w}/new.onnx", "query"),
        new("prepare with a vocabulary larger than the token table", "graph", Prepare + " --vocab {w}/too-many-vocab.txt --out {w}/new-art", "too-many-vocab.txt"),

        // damaged inputs
        new("eval a run whose checkpoint is truncated", "run", "eval --data {w}/data/train.jsonl --run {w}/damaged/run-truncated", "checkpoint.ckpt"),
        new("export a run whose checkpoint is truncated", "run", "export --run {w}/damaged/run-truncated --adapter {w}/new.safetensors", "checkpoint.ckpt"),
        new("resume a run whose checkpoint is truncated", "run", "train --resume {w}/damaged/run-truncated", "checkpoint.ckpt"),
        new("eval a truncated adapter", "run", EvalArt + " --adapter {w}/damaged/adapter-truncated.safetensors", "adapter-truncated.safetensors"),
        new("eval an adapter holding NaN", "run", EvalArt + " --adapter {w}/damaged/adapter-nan.safetensors", "adapter-nan.safetensors"),
        new("merge a PEFT directory with truncated weights", "graph", "merge --model {w}/model/encoder.onnx --peft {w}/damaged/peft-truncated --out {w}/new.onnx", "adapter_model.safetensors"),
        new("merge a PEFT directory holding infinity", "graph", "merge --model {w}/model/encoder.onnx --peft {w}/damaged/peft-nan --out {w}/new.onnx", "adapter_model.safetensors"),
        new("merge a PEFT directory with a cut config", "graph", "merge --model {w}/model/encoder.onnx --peft {w}/damaged/peft-config --out {w}/new.onnx", "adapter_config.json"),
        new("train on artifacts with a truncated manifest", "run", "train --artifacts {w}/damaged/art-manifest --train {w}/data/train.jsonl --out {w}/new-run --max-steps 1", "manifest.json"),
        new("train on artifacts with a truncated training model", "run", "train --artifacts {w}/damaged/art-training --train {w}/data/train.jsonl --out {w}/new-run --max-steps 1", "training_model.onnx"),
        new("inspect a truncated model", "graph", "inspect --model {w}/damaged/encoder-truncated.onnx", "encoder-truncated.onnx"),
        new("prepare from a truncated model", "graph", PrepareFrom("{w}/damaged/encoder-truncated.onnx") + " --out {w}/new-art", "encoder-truncated.onnx"),
        new("train on data that is not UTF-8", "run", TrainOn("{w}/data/not-utf8.jsonl") + " --out {w}/new-run", "not-utf8.jsonl:2"),
        new("eval on data that is not UTF-8", "run", "eval --run {w}/run --data {w}/data/not-utf8.jsonl", "not-utf8.jsonl:2"),
        new("train on a broken JSONL row", "run", TrainOn("{w}/data/broken.jsonl") + " --out {w}/new-run", "broken.jsonl:2"),
        new("eval on a row without a label", "run", "eval --run {w}/run --data {w}/data/no-label.jsonl", "no-label.jsonl:2|label"),
        new("train on a CSV without a text column", "run", TrainOn("{w}/data/no-text.csv") + " --out {w}/new-run", "no-text.csv|text"),
        new("train on an empty file", "run", TrainOn("{w}/data/empty.jsonl") + " --out {w}/new-run", "empty.jsonl"),

        // foreign inputs
        new("inspect a text file as a model", "graph", "inspect --model {w}/notes.txt", "notes.txt"),
        new("prepare a text file as a model", "graph", PrepareFrom("{w}/notes.txt") + " --out {w}/new-art", "notes.txt"),
        new("merge into a text file as a model", "graph", "merge --model {w}/notes.txt --peft {w}/peft --out {w}/new.onnx", "notes.txt"),
        new("eval a text file as a merged model", "run", "eval --data {w}/data/train.jsonl --model {w}/notes.txt", "notes.txt"),
        new("infer with a text file as a model", "run", "infer --model {w}/notes.txt --text hello", "notes.txt"),
        new("eval a text file as an adapter", "run", EvalArt + " --adapter {w}/notes.txt", "notes.txt"),
        new("prepare a folder as a model", "graph", PrepareFrom("{w}/model") + " --out {w}/new-art", "{w}/model"),
        new("train on a folder as data", "run", TrainOn("{w}/data") + " --out {w}/new-run", "{w}/data"),
        new("eval a folder as data", "run", "eval --run {w}/run --data {w}/empty", "{w}/empty"),
        new("eval a folder as an adapter", "run", EvalArt + " --adapter {w}/empty", "{w}/empty"),
        new("prepare with a folder as vocabulary", "graph", Prepare + " --vocab {w}/empty --out {w}/new-art", "{w}/empty"),
        new("train with a file as artifacts", "run", "train --artifacts {w}/notes.txt --train {w}/data/train.jsonl --out {w}/new-run", "notes.txt"),
        new("train with an empty folder as artifacts", "run", "train --artifacts {w}/empty --train {w}/data/train.jsonl --out {w}/new-run", "{w}/empty"),
        new("eval a file as a run", "run", "eval --data {w}/data/train.jsonl --run {w}/notes.txt", "notes.txt"),
        new("export a file as a run", "run", "export --run {w}/notes.txt --adapter {w}/new.safetensors", "notes.txt"),
        new("export artifacts as a run", "run", "export --run {w}/art --adapter {w}/new.safetensors", "{w}/art"),
        new("resume artifacts as a run", "run", "train --resume {w}/art", "{w}/art"),
        new("merge a file as a PEFT directory", "graph", "merge --model {w}/model/encoder.onnx --peft {w}/notes.txt --out {w}/new.onnx", "notes.txt"),
        new("serve with a file as the serving folder", "run", "serve --model {w}/notes.txt --adapters user={w}/user.onnx_adapter --input {w}/requests.jsonl --output {w}/new.jsonl", "notes.txt"),
        new("serve missing requests", "run", "serve --model {w}/serving --adapters user={w}/user.onnx_adapter --input {w}/missing.jsonl --output {w}/new.jsonl", "missing.jsonl"),

        // outputs at existing files and folders, and at the inputs themselves
        new("export --merged onto the base model", "run", "export --run {w}/run --merged {w}/model/encoder.onnx", "encoder.onnx|--overwrite"),
        new("export --merged --overwrite onto the artifacts' base model", "run", "export --run {w}/run --merged {w}/art/base_model.onnx --overwrite", "base_model.onnx"),
        new("export --adapter over the run's checkpoint", "run", "export --run {w}/run --adapter {w}/run/checkpoint.ckpt --overwrite", "checkpoint.ckpt"),
        new("export --adapter over an existing adapter", "run", "export --run {w}/run --adapter {w}/lora.safetensors", "lora.safetensors|--overwrite"),
        new("export --adapter onto a folder", "run", "export --run {w}/run --adapter {w}/empty", "{w}/empty"),
        new("export --merged over the merged model", "run", "export --run {w}/run --merged {w}/merged/model.onnx", "model.onnx|--overwrite"),
        new("export --peft into the artifacts folder", "run", "export --run {w}/run --peft {w}/art", "{w}/art"),
        new("export --serving into the artifacts folder", "run", "export --run {w}/run --serving {w}/art", "{w}/art"),
        new("export --serving-form without --serving", "run", "export --run {w}/run --adapter {w}/new.safetensors --serving-form weight", "--serving-form|--serving DIR"),
        new("export --onnx-adapter over the user's adapter", "run", "export --run {w}/run --onnx-adapter {w}/user.onnx_adapter", "user.onnx_adapter|--overwrite"),
        new("prepare --out the model's folder", "graph", Prepare + " --out {w}/model", "{w}/model|--overwrite"),
        new("prepare --out --overwrite the folder of its own input", "graph", "prepare --model {w}/art/base_model.onnx --targets query --num-vectors 8 --vector-length 4 --out {w}/art --overwrite", "base_model.onnx"),
        new("prepare --out an existing file", "graph", Prepare + " --out {w}/notes.txt", "notes.txt"),
        new("train --out the artifacts folder", "run", Train + " --out {w}/art", "{w}/art"),
        new("train --out an existing run", "run", Train + " --out {w}/run", "--resume|--overwrite"),
        new("train --out --overwrite the artifacts folder", "run", Train + " --out {w}/art --overwrite", "{w}/art"),
        new("train --out an existing file", "run", Train + " --out {w}/notes.txt", "notes.txt"),
        new("merge --out onto its own model", "graph", "merge --model {w}/model/encoder.onnx --peft {w}/peft --out {w}/model/encoder.onnx", "encoder.onnx|reads"),
        new("merge --out --overwrite onto its own model", "graph", "merge --model {w}/model/encoder.onnx --peft {w}/peft --out {w}/model/encoder.onnx --overwrite", "encoder.onnx"),
        new("merge --out onto a folder", "graph", "merge --model {w}/model/encoder.onnx --peft {w}/peft --out {w}/empty", "{w}/empty"),
        new("serve --output over its requests", "run", "serve --model {w}/serving --adapters user={w}/user.onnx_adapter --input {w}/requests.jsonl --output {w}/requests.jsonl", "requests.jsonl"),
        new("demo --out a folder of the user's", "run", "demo --out {w}/data --steps 1", "{w}/data"),
    ];
}
