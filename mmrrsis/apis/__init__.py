from .inference import (build_inference_pipeline, existence_score, inference_model, init_model,
                        pred_mask, show_result)
from .large_scene import infer_large_scene
from .rrsis_inferencer import RRSISInferencer

__all__ = [
    'init_model', 'inference_model', 'show_result', 'pred_mask', 'build_inference_pipeline',
    'RRSISInferencer', 'infer_large_scene', 'existence_score'
]
