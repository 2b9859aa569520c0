# RSRefSeg 2 (Chen et al., TGRS 2025) as its published code builds it: SAM 2.1 Hiera-L and
# SigLIP 2 So400m/16 at 512 (the FixRes checkpoint, a SiglipModel), both frozen with LoRA
# (r = alpha = 16) on the attention projections (and SAM 2's FPN 1x1 convs, the SigLIP text
# head), the cascaded prompter, SAM 2's prompt encoder and mask decoder trained in full.
# The architecture is written out below (transformers config values), so the model builds
# offline; the hub weights are read only by init_weights when training starts.
custom_imports = dict(imports=['projects.rsrefseg2.rsrefseg2'], allow_failed_imports=False)
sam2_name = 'facebook/sam2.1-hiera-large'
siglip_name = 'google/siglip2-so400m-patch16-512'
sam2_config = dict(
    vision_config=dict(
        backbone_config=dict(
            model_type='sam2_hiera_det_model', hidden_size=144, num_attention_heads=2,
            embed_dim_per_stage=[144, 288, 576, 1152],
            num_attention_heads_per_stage=[2, 4, 8, 16], blocks_per_stage=[2, 6, 36, 4],
            global_attention_blocks=[23, 33, 43], window_size_per_stage=[8, 4, 16, 8],
            window_positional_embedding_background_size=[7, 7]),
        backbone_channel_list=[1152, 576, 288, 144]))
siglip_vision = dict(hidden_size=1152, intermediate_size=4304, num_hidden_layers=27,
                     num_attention_heads=16, image_size=512, patch_size=16,
                     vision_use_head=False)
siglip_text = dict(vocab_size=256000, hidden_size=1152, intermediate_size=4304,
                   num_hidden_layers=27, num_attention_heads=16, max_position_embeddings=64,
                   projection_size=1152, pad_token_id=0, bos_token_id=2, eos_token_id=1)
lora = dict(r=16, alpha=16, dropout=0.0)
siglip_lora_target = r'encoder\.layers\.\d+\.self_attn\.(q|k|v|out)_proj'
model = dict(
    type='ReferringEncoderDecoder',
    data_preprocessor=dict(
        type='ReferringDataPreProcessor',
        # the towers normalise the [0, 1] RGB input themselves
        mean=[0.0, 0.0, 0.0],
        std=[255.0, 255.0, 255.0],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size=(1024, 1024),
        test_cfg=dict(size=(1024, 1024)),
        # SigLIP 2's Gemma tokenizer, right padding pinned; the reference pads to the batch's
        # longest expression and the pooled text reads the last position (see the README)
        tokenizer=dict(name_or_path=siglip_name, tokenizer_cls='AutoTokenizer',
                       padding_side='right'),
        max_length=64,
        padding='longest'),
    backbone=dict(
        type='RSRefSeg2Encoder',
        sam2=dict(type='HFSam2ImageEncoder', sam2_config=sam2_config, pretrained=sam2_name,
                  frozen=True,
                  lora=dict(lora, target=r'backbone\.blocks\.\d+\.attn\.(qkv|proj)|'
                                         r'neck\.convs\.\d+')),
        vision=dict(type='HFSiglipVisionTower', config=siglip_vision, pretrained=siglip_name,
                    frozen=True, lora=dict(lora, target=siglip_lora_target)),
        text=dict(type='HFSiglipTextTower', config=siglip_text, pretrained=siglip_name,
                  frozen=True, lora=dict(lora, target=siglip_lora_target + '|head'))),
    neck=dict(type='CascadedPrompter', text_dims=1152, img_dims=1152, prompt_dims=256,
              num_heads=8, internal_dims=512, mlp_dims=512, num_queries=3, num_prompts=9,
              text_layers=2, image_layers=2, prompt_layers=2, pe_size=32),
    decode_head=dict(
        type='SAM2PromptHead',
        decoder=dict(type='HFSam2MaskDecoder', sam2_config=sam2_config, pretrained=sam2_name),
        stability_fallback=True,
        threshold=0.5,
        ignore_index=255,
        align_corners=False,
        loss_decode=[
            # mmseg's sigmoid BCE: mean over all pixels, padding counted as 0
            dict(type='CrossEntropyLoss', use_sigmoid=True, avg_non_ignore=False,
                 loss_weight=5.0, loss_name='loss_bce'),
            dict(type='SigmoidDiceLoss', eps=1e-3, loss_weight=5.0),
        ],
        decorrelation_loss=dict(type='QueryDecorrelationLoss', loss_weight=0.5),
        contrast_loss=dict(type='RegionTextContrastLoss', loss_weight=0.5)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
