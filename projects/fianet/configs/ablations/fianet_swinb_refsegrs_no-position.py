# FIAM ablation: no spatial-position branch (O = G_o, no position pass of BERT).
_base_ = '../fianet_swinb_refsegrs.py'
fiam = dict(type='FIAM', num_heads=1, dropout=0.0, with_position=False)
last = dict(type='FIAM', num_heads=1, dropout=0.0, with_gate=False, with_object=False,
            with_position=False, with_channel_mod=False)
model = dict(backbone=dict(extra_text_masks=('object_mask', ),
                           fusion=[fiam, fiam, fiam, last]))
