"""offline_model_cfg: no downloads when a model config is built."""
from mmengine.config import Config

from mmrrsis.utils.offline import offline_model_cfg


def test_bert_and_pretrained_inits_are_switched_off_everywhere():
    cfg = Config(dict(model=dict(
        backbone=dict(
            vision=dict(type='SwinTransformer',
                        init_cfg=dict(type='Pretrained', checkpoint='https://x/swin.pth')),
            text=dict(type='BertTextEncoder', name_or_path='bert-base-uncased', pretrained=True)),
        heads=[dict(type='FCNHead', init_cfg=dict(type='Normal', std=0.01)),
               dict(type='BertTextEncoder', pretrained=True)],
        data_preprocessor=dict(tokenizer='bert-base-uncased'))))
    out = offline_model_cfg(cfg.model)
    assert out is cfg.model
    assert cfg.model.backbone.vision.init_cfg is None
    assert cfg.model.backbone.text.pretrained is False
    assert cfg.model.heads[1]['pretrained'] is False
    # other inits and the tokenizer are kept
    assert cfg.model.heads[0]['init_cfg'] == dict(type='Normal', std=0.01)
    assert cfg.model.data_preprocessor.tokenizer == 'bert-base-uncased'
