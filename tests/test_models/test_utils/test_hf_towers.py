"""The transformers wrappers (SigLIP towers, SAM 2 image encoder and mask decoder) compute what
the transformers modules they wrap compute, and load a saved checkpoint in init_weights."""
import pytest
import torch
import torch.nn.functional as F

from mmrrsis.models.backbones import HFSam2ImageEncoder, HFSiglipVisionTower
from mmrrsis.models.text_encoders import HFSiglipTextTower
from mmrrsis.models.utils import HFSam2MaskDecoder, lora_layers

VISION = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
              image_size=32, patch_size=8, vision_use_head=False)
TEXT = dict(vocab_size=50, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
            num_attention_heads=2, max_position_embeddings=16)
S = 64
SAM2 = dict(
    vision_config=dict(
        backbone_config=dict(hidden_size=16, num_attention_heads=1, blocks_per_stage=[1, 1, 2, 1],
                             embed_dim_per_stage=[16, 32, 64, 128],
                             num_attention_heads_per_stage=[1, 2, 4, 8],
                             window_size_per_stage=[4, 4, 4, 4], global_attention_blocks=[3],
                             window_positional_embedding_background_size=[4, 4],
                             image_size=[S, S]),
        backbone_channel_list=[128, 64, 32, 16], fpn_hidden_size=32,
        backbone_feature_sizes=[[S // 4] * 2, [S // 8] * 2, [S // 16] * 2]),
    prompt_encoder_config=dict(hidden_size=32, image_size=S, patch_size=16, mask_input_channels=16),
    mask_decoder_config=dict(hidden_size=32, mlp_dim=64, num_attention_heads=2,
                             iou_head_hidden_dim=32))


def _randomise(module, seed=0):
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=generator) * 0.2)


def test_siglip_vision_tower(tmp_path):
    from transformers import SiglipVisionConfig, SiglipVisionModel
    torch.manual_seed(0)
    reference = SiglipVisionModel(SiglipVisionConfig(**VISION)).eval()
    reference.save_pretrained(tmp_path)
    tower = HFSiglipVisionTower(VISION, pretrained=str(tmp_path), frozen=True,
                                lora=dict(target=r'encoder\.layers\.\d+\.self_attn\.q_proj', r=2))
    tower.init_weights()
    tower.eval()
    images = torch.rand(2, 3, 48, 48)
    with torch.no_grad():
        ours = tower(images)
        pixels = F.interpolate((images - 0.5) / 0.5, size=(32, 32), mode='bilinear',
                               align_corners=False)
        theirs = reference(pixel_values=pixels).last_hidden_state
    assert ours.shape == (2, 16, 32) and tower.grid_size == 4
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-6)
    assert sorted(lora_layers(tower.model)) == [f'encoder.layers.{i}.self_attn.q_proj'
                                                for i in range(2)]
    trainable = {n for n, p in tower.named_parameters() if p.requires_grad}
    assert trainable and all('lora_' in n for n in trainable)


def test_siglip_text_tower(tmp_path):
    from transformers import SiglipConfig, SiglipModel
    torch.manual_seed(0)
    reference = SiglipModel(SiglipConfig(text_config=TEXT, vision_config=VISION)).eval()
    with torch.no_grad():
        reference.logit_scale.fill_(2.5)
        reference.logit_bias.fill_(-3.0)
    reference.save_pretrained(tmp_path)
    tower = HFSiglipTextTower(TEXT, pretrained=str(tmp_path))
    tower.init_weights()
    tower.eval()
    ids = torch.randint(1, 50, (2, 7))
    mask = torch.ones_like(ids)
    mask[1, 5:] = 0
    with torch.no_grad():
        ours = tower.encode_text(dict(input_ids=ids, attention_mask=mask))
        theirs = reference.text_model(input_ids=ids, attention_mask=mask)
    torch.testing.assert_close(ours['feats'], theirs.last_hidden_state, rtol=0, atol=1e-6)
    torch.testing.assert_close(ours['pooled'], theirs.pooler_output, rtol=0, atol=1e-6)
    assert ours['mask'] is mask
    assert tower.logit_scale.item() == 2.5 and tower.logit_bias.item() == -3.0
    with pytest.raises(ValueError, match='max_length <= 16'):
        tower.encode_text(dict(input_ids=torch.ones(1, 17, dtype=torch.long),
                               attention_mask=torch.ones(1, 17, dtype=torch.long)))


@pytest.fixture(scope='module')
def sam2(tmp_path_factory):
    from transformers import Sam2Model
    from mmrrsis.models.utils.hf_models import build_sam2_config
    torch.manual_seed(0)
    model = Sam2Model(build_sam2_config(SAM2, 'test')).eval()
    _randomise(model)
    folder = tmp_path_factory.mktemp('sam2')
    model.save_pretrained(folder)
    return model, str(folder)


def test_sam2_image_encoder(sam2):
    model, folder = sam2
    encoder = HFSam2ImageEncoder(SAM2, pretrained=folder, frozen=True,
                                 lora=dict(target=r'neck\.convs\.\d+', r=2))
    encoder.init_weights()
    encoder.eval()
    images = torch.rand(2, 3, S, S)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.no_grad():
        s0, s1, emb = encoder(images)
        theirs = model.get_image_features((images - mean) / std).fpn_hidden_states
    shapes = [(2, 4, S // 4, S // 4), (2, 8, S // 8, S // 8), (2, 32, S // 16, S // 16)]
    assert [tuple(t.shape) for t in (s0, s1, emb)] == shapes
    # transformers gives (HW, B, C) maps, the last without the no-memory embedding
    expected = [t.permute(1, 2, 0).reshape(shape) for t, shape in zip(theirs, shapes)]
    expected[2] = expected[2] + model.no_memory_embedding.view(1, -1, 1, 1)
    for ours, ref in zip((s0, s1, emb), expected):
        torch.testing.assert_close(ours, ref, rtol=0, atol=1e-5)
    assert not any(p.requires_grad for n, p in encoder.vision_encoder.named_parameters()
                   if 'lora_' not in n)
    assert encoder.conv_s0.weight.requires_grad and encoder.no_memory_embedding.requires_grad


@pytest.mark.parametrize('training', [True, False])
def test_sam2_mask_decoder(sam2, training):
    model, folder = sam2
    decoder = HFSam2MaskDecoder(SAM2, pretrained=folder)
    decoder.init_weights()
    decoder.train(training)
    model.train(training)
    torch.manual_seed(1)
    feats = [torch.randn(2, 4, 16, 16), torch.randn(2, 8, 8, 8), torch.randn(2, 32, 4, 4)]
    sparse = torch.randn(2, 3, 32)
    dense = torch.randn(2, 1, 16, 16)
    with torch.no_grad():
        masks, iou = decoder(feats, sparse, dense)
        pe = model.get_image_wide_positional_embeddings().expand(2, -1, -1, -1)
        ref_masks, ref_iou, _, _ = model.mask_decoder(
            image_embeddings=feats[2], image_positional_embeddings=pe,
            sparse_prompt_embeddings=sparse[:, None],
            dense_prompt_embeddings=model.prompt_encoder.mask_embed(dense),
            multimask_output=False, high_resolution_features=feats[:2])
    assert masks.shape == (2, 1, 16, 16) and iou.shape == (2, 1)
    torch.testing.assert_close(masks, ref_masks[:, 0], rtol=0, atol=1e-5)
    torch.testing.assert_close(iou, ref_iou[:, 0], rtol=0, atol=1e-6)
    assert not hasattr(decoder.mask_decoder, 'conv_s0')


def test_lora_trains_the_base_only_when_not_frozen():
    lora = dict(target=r'.*q_proj', r=2)
    for frozen in (True, False):
        tower = HFSiglipVisionTower(VISION, frozen=frozen, lora=lora)
        trainable = {n for n, p in tower.named_parameters() if p.requires_grad}
        adapters = {n for n in trainable if 'lora_' in n}
        assert len(adapters) == 2 * VISION['num_hidden_layers']
        if frozen:
            assert trainable == adapters
        else:
            assert trainable == {n for n, _ in tower.named_parameters()}


def test_activation_checkpointing_keeps_gradients():
    torch.manual_seed(0)
    plain = HFSiglipVisionTower(VISION, frozen=True, lora=dict(target=r'.*q_proj', r=2))
    checkpointed = HFSiglipVisionTower(VISION, frozen=True, with_cp=True,
                                       lora=dict(target=r'.*q_proj', r=2))
    checkpointed.load_state_dict(plain.state_dict())
    images = torch.rand(1, 3, 32, 32)
    grads = []
    for tower in (plain, checkpointed):
        tower.train()
        tower(images).square().sum().backward()
        grads.append({n: p.grad.clone() for n, p in tower.named_parameters() if p.grad is not None})
    assert grads[0].keys() == grads[1].keys() and grads[0]
    for name, grad in grads[0].items():
        torch.testing.assert_close(grads[1][name], grad, rtol=1e-4, atol=1e-6)


def test_siglip_vision_tower_from_a_siglip_model_folder(tmp_path):
    """The released SigLIP 2 checkpoints are SiglipModels (text and vision, pooling head)."""
    from transformers import SiglipConfig, SiglipModel
    torch.manual_seed(0)
    reference = SiglipModel(SiglipConfig(text_config=TEXT,
                                         vision_config=dict(VISION, vision_use_head=True)))
    reference.save_pretrained(tmp_path)
    tower = HFSiglipVisionTower(VISION, pretrained=str(tmp_path))
    tower.init_weights()
    images = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(
            tower.eval()(images),
            reference.eval().vision_model(pixel_values=(images - 0.5) / 0.5).last_hidden_state)
