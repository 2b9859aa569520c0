from .cascaded_prompter import CascadedPrompter
from .losses import QueryDecorrelationLoss, RegionTextContrastLoss
from .rsrefseg2_encoder import RSRefSeg2Encoder
from .sam2_prompt_head import SAM2PromptHead

__all__ = [
    'CascadedPrompter', 'QueryDecorrelationLoss', 'RSRefSeg2Encoder', 'RegionTextContrastLoss',
    'SAM2PromptHead'
]
