"""Model configs that build without network access: for tests and benchmarks."""


# modules that read a hub name or folder (``pretrained``) in init_weights only
HF_WEIGHTS_IN_INIT = ('HFSam2ImageEncoder', 'HFSam2MaskDecoder', 'HFSiglipVisionTower',
                      'HFSiglipTextTower')


def offline_model_cfg(node):
    """Random weights, no downloads: BERT from its config alone, ``Pretrained`` inits dropped.

    Walks a model config (dicts, lists, tuples) in place: every ``BertTextEncoder`` gets
    ``pretrained=False`` (its ``bert_config``, bert-base by default, gives the architecture)
    the SAM 2 / SigLIP wrappers get ``pretrained=None``, and every
    ``init_cfg`` of type ``Pretrained`` becomes None. The tokenizer is left alone.

    Returns:
        The same ``node``, changed.
    """
    if isinstance(node, dict):
        if node.get('type') == 'BertTextEncoder':
            node['pretrained'] = False
        if node.get('type') in HF_WEIGHTS_IN_INIT:
            node['pretrained'] = None
        if isinstance(node.get('init_cfg'), dict) and node['init_cfg'].get('type') == 'Pretrained':
            node['init_cfg'] = None
        for value in node.values():
            offline_model_cfg(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            offline_model_cfg(value)
    return node
