"""What the scripts of ``tools/analysis`` share: model cost against bare encoders
(``benchmark``), parameter and FLOP counts (``flops``) and short trainings on synthetic
data (``synthetic_training``)."""
from .benchmark import (BenchmarkBareHead, Runner, bare_model_cfg, header, load_config,
                        make_batch, measure, state_bytes, throughput)
from .flops import (COMPONENTS, EXPRESSION, TEXT_META_KEYS, TracedReferringModel, analyse,
                    build_inputs, component_of, conv_mode_flop_jit, sdpa_flop_jit,
                    text_metainfo)
from .synthetic_training import (configure, empty_share, innermost_dataset, seed_scores,
                                 set_input_size, train_and_test)

__all__ = [
    'BenchmarkBareHead', 'Runner', 'bare_model_cfg', 'header', 'load_config', 'make_batch',
    'measure', 'state_bytes', 'throughput', 'COMPONENTS', 'EXPRESSION', 'TEXT_META_KEYS',
    'TracedReferringModel', 'analyse', 'build_inputs', 'component_of', 'conv_mode_flop_jit',
    'sdpa_flop_jit',
    'text_metainfo', 'configure', 'empty_share', 'innermost_dataset', 'seed_scores',
    'set_input_size',
    'train_and_test'
]
