"""A 1B-class benchmark model: TinyLlama-1.1B's shape with random weights and stories260K's tokenizer.

Decode speed depends on the shapes, not on what the weights say, so random weights measure the same
work as the real model without downloading one. Written as F16 here; the benchmark quantises it to
Q4_0 with the llama-quantize it builds. The output row of the end-of-sequence token is zero, so
greedy decoding never picks it and every run generates the tokens it was asked for.

    PYTHONPATH=<llama.cpp>/gguf-py python3 bench/make-model.py <stories260K.gguf> <out-f16.gguf>
"""
import sys

import numpy as np
import gguf

# TinyLlama-1.1B (config.json of TinyLlama/TinyLlama-1.1B-Chat-v1.0); the vocabulary is the tokenizer's.
EMBD, LAYERS, HEADS, HEADS_KV, FF, CONTEXT = 2048, 22, 32, 4, 5632, 2048
HEAD_DIM = EMBD // HEADS


def field(reader, name):
    value = reader.fields[name]
    return value.contents()


def main(tokenizer_source, out):
    reader = gguf.GGUFReader(tokenizer_source)
    tokens = field(reader, "tokenizer.ggml.tokens")
    vocab = len(tokens)
    eos = int(field(reader, "tokenizer.ggml.eos_token_id"))

    writer = gguf.GGUFWriter(out, "llama")
    writer.add_name("random TinyLlama-1.1B shape, stories260K tokenizer (benchmark only)")
    writer.add_context_length(CONTEXT)
    writer.add_embedding_length(EMBD)
    writer.add_block_count(LAYERS)
    writer.add_feed_forward_length(FF)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(HEADS_KV)
    writer.add_rope_dimension_count(HEAD_DIM)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    writer.add_tokenizer_model(field(reader, "tokenizer.ggml.model"))
    writer.add_token_list(tokens)
    writer.add_token_scores(field(reader, "tokenizer.ggml.scores"))
    writer.add_token_types(field(reader, "tokenizer.ggml.token_type"))
    writer.add_bos_token_id(int(field(reader, "tokenizer.ggml.bos_token_id")))
    writer.add_eos_token_id(eos)
    writer.add_unk_token_id(int(field(reader, "tokenizer.ggml.unknown_token_id")))

    rng = np.random.default_rng(13)

    def weight(rows, cols):
        return (rng.standard_normal((rows, cols), dtype=np.float32) * 0.02).astype(np.float16)

    ones = lambda n: np.ones(n, dtype=np.float32)  # noqa: E731

    output = weight(vocab, EMBD)
    output[eos] = 0
    writer.add_tensor("token_embd.weight", weight(vocab, EMBD))
    writer.add_tensor("output_norm.weight", ones(EMBD))
    writer.add_tensor("output.weight", output)
    for layer in range(LAYERS):
        prefix = f"blk.{layer}"
        writer.add_tensor(f"{prefix}.attn_norm.weight", ones(EMBD))
        writer.add_tensor(f"{prefix}.attn_q.weight", weight(EMBD, EMBD))
        writer.add_tensor(f"{prefix}.attn_k.weight", weight(HEADS_KV * HEAD_DIM, EMBD))
        writer.add_tensor(f"{prefix}.attn_v.weight", weight(HEADS_KV * HEAD_DIM, EMBD))
        writer.add_tensor(f"{prefix}.attn_output.weight", weight(EMBD, EMBD))
        writer.add_tensor(f"{prefix}.ffn_norm.weight", ones(EMBD))
        writer.add_tensor(f"{prefix}.ffn_gate.weight", weight(FF, EMBD))
        writer.add_tensor(f"{prefix}.ffn_up.weight", weight(FF, EMBD))
        writer.add_tensor(f"{prefix}.ffn_down.weight", weight(EMBD, FF))

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
