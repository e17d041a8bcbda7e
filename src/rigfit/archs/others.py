"""Every other architecture llama.cpp loads: the GGUF reading rules rigfit knows for it (sliding
window pattern, HF ``model_type``), and a bare family for the rest, so that a file of any
architecture llama.cpp accepts is read (its tensor table comes from the file).

Source of the list: ``src/llama-arch.cpp`` LLM_ARCH_NAMES and ``src/models/<arch>.cpp``
``load_arch_hparams`` (https://github.com/ggml-org/llama.cpp/tree/master/src).
"""

from __future__ import annotations

from rigfit.archs.registry import ArchFamily, SwaRule, is_known, register

#: Sliding-window rules of ``src/models/<arch>.cpp`` (set_swa_pattern period, dense_first,
#: default n_swa, when it applies).
_SWA: dict[str, SwaRule] = {
    "afmoe": SwaRule(4, False, 0, "if_key"),
    "smallthinker": SwaRule(4, True, 4096, "if_key", forced_swa=True),  # n_swa forced to 4096
    "exaone-moe": SwaRule(4, False, 128, "always"),  # n_swa = 128
    "mellum": SwaRule(4, False, 0, "if_key"),
    "plamo3": SwaRule(8, False, 0, "if_key"),
    "muse-glimmer": SwaRule(4, False, 0, "always"),
    "laguna": SwaRule(4, True, 0, "if_key"),
    "modern-bert": SwaRule(3, True, 0, "if_key"),
}
#: HF model_type -> llama.cpp name for the architectures rigfit reads from a config.json only.
_HF = {
    "granitemoe": "granitemoe",
    "starcoder2": "starcoder2",
    "ernie4_5": "ernie4_5",
    "ernie4_5_moe": "ernie4_5-moe",
}
_HF_BY_ARCH = {v: k for k, v in _HF.items()}
#: SWA layers only from a stored per-layer bool array
_ARRAY_ONLY = ("granite_swa", "mimo2", "step35")

#: Every ``general.architecture`` llama.cpp knows (LLM_ARCH_NAMES, llama.cpp vendored in
#: llama-cpp-python 0.3.36). A file naming anything else cannot be run by llama.cpp.
LLAMACPP_ARCH_WORDS = """
llama llama4 deci falcon grok gpt2 gptj gptneox mpt baichuan starcoder refact bert modern-bert
nomic-bert nomic-bert-moe neo-bert jina-bert-v2 jina-bert-v3 eurobert bloom stablelm qwen qwen2
qwen2moe qwen2vl qwen3 qwen3moe qwen3next qwen3vl qwen3vlmoe qwen35 qwen35moe qwen4exp phi2 phi3
phimoe plamo plamo2 plamo3 codeshell orion internlm2 minicpm minicpm3 gemma gemma2 gemma3 gemma3n
gemma4 gemma4-assistant gemma-embedding starcoder2 mamba mamba2 maple jamba falcon-h1 xverse
command-r cohere2 cohere2moe dbrx olmo olmo2 olmoe muse-glimmer openelm arctic deepseek deepseek2
deepseek2-ocr deepseek32 deepseek4 chatglm glm4 glm4moe glm-dsa bitnet t5 t5encoder jais jais2
nemotron nemotron_h nemotron_h_moe exaone exaone4 exaone-moe rwkv6 rwkv6qwen2 rwkv7 arwkv7 granite
granitemoe granitehybrid graniteswitch granite_swa chameleon wavtokenizer-dec plm bailingmoe
bailingmoe2 bailingmoe3 dots1 dots3note arcee afmoe laguna ernie4_5 ernie4_5-moe hunyuan-moe
hunyuan-dense hunyuan_vl hy_v3 hy_v4 smollm3 gpt-oss lfm2 lfm2moe dream smallthinker llada llada-moe
seed_oss grovemoe apertus minimax-01 hrm_text minimax-m2 minimax-m3 cogvlm rnd1 pangu-embedded
mistral3 eagle3 dflash mistral4 paddleocr mimo2 step35 spark2_5 llama-embed maincoder kimi-linear
kimi-k3 glm5-next talkie mellum nanbeige qwen3tts pockettts clip
"""

# llama-model.cpp: the falcon quantization rules (ffn_down / attn_output) name LLM_ARCH_FALCON
register(ArchFamily("falcon", quant_falcon=True))
register(ArchFamily("clip", not_a_model="this is a multimodal projector (mmproj) file, not a language model"))
for _name in LLAMACPP_ARCH_WORDS.split():
    if is_known(_name):
        continue
    hf = (_HF_BY_ARCH[_name],) if _name in _HF_BY_ARCH else ()
    register(
        ArchFamily(
            _name,
            swa=_SWA.get(_name),
            swa_mode="array_only" if _name in _ARRAY_ONLY else "rule",
            hf_model_types=hf,
        )
    )
