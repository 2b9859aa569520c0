# Tiny RSRefSeg 2 for the synthetic demo data: the architecture of the paper configs (SAM 2
# image encoder and SigLIP towers with LoRA, the cascaded prompter, SAM 2's mask decoder, the
# four losses) at toy widths (a 5-block Hiera of width 16, 2-layer SigLIP towers of width 32
# over the synthetic WordPiece vocabulary, r = alpha = 4), random weights, trainable on a CPU
# at 64 px with the synthetic schedule and flips. Unlike the paper configs, the towers are not
# frozen (random weights have nothing to keep): their own weights train next to the LoRA
# adapters, which lifts the text-dependence test mIoU from 21.67 to 30.93 (README).
_base_ = [
    './_base_/rsrefseg2_sam2l_siglip2.py',
    '../../../configs/_base_/datasets/synthetic_refsegrs.py',
    '../../../configs/_base_/default_runtime.py',
    '../../../configs/_base_/schedules/schedule_synthetic.py'
]
crop_size = (64, 64)
vocab = 'data/synthetic_refsegrs/bert_vocab/vocab.txt'
tiny_sam2 = dict(
    vision_config=dict(
        backbone_config=dict(
            model_type='sam2_hiera_det_model', hidden_size=16, num_attention_heads=1,
            blocks_per_stage=[1, 1, 2, 1], embed_dim_per_stage=[16, 32, 64, 128],
            num_attention_heads_per_stage=[1, 2, 4, 8], window_size_per_stage=[4, 4, 4, 4],
            global_attention_blocks=[3], window_positional_embedding_background_size=[4, 4],
            image_size=list(crop_size)),
        backbone_channel_list=[128, 64, 32, 16], fpn_hidden_size=32,
        backbone_feature_sizes=[[16, 16], [8, 8], [4, 4]]),
    prompt_encoder_config=dict(hidden_size=32, image_size=64, patch_size=16,
                               mask_input_channels=16),
    mask_decoder_config=dict(hidden_size=32, mlp_dim=64, num_attention_heads=2,
                             iou_head_hidden_dim=32))
tiny_lora = dict(r=4, alpha=4, dropout=0.0)
model = dict(
    data_preprocessor=dict(tokenizer=vocab, size=crop_size, test_cfg=dict(size=crop_size),
                           max_length=20),
    backbone=dict(
        sam2=dict(sam2_config=tiny_sam2, pretrained=None, frozen=False, lora=tiny_lora),
        vision=dict(
            config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                        num_attention_heads=2, image_size=64, patch_size=8,
                        vision_use_head=False),
            pretrained=None, frozen=False, lora=tiny_lora),
        text=dict(
            config=dict(vocab_size=1000, hidden_size=32, intermediate_size=64,
                        num_hidden_layers=2, num_attention_heads=2, max_position_embeddings=32,
                        projection_size=32, pad_token_id=0, bos_token_id=2, eos_token_id=3),
            pretrained=None, frozen=False, lora=tiny_lora)),
    neck=dict(text_dims=32, img_dims=32, prompt_dims=32, num_heads=2, internal_dims=32,
              mlp_dims=32, num_queries=3, num_prompts=4, text_layers=1, image_layers=1,
              prompt_layers=1, pe_size=8),
    decode_head=dict(decoder=dict(sam2_config=tiny_sam2, pretrained=None)))
